// Package wire holds what both sides of PD's gRPC API share: kvproto's messages are generated
// by gogoproto with their own Marshal/Unmarshal, which this codec calls directly, under the
// standard "proto" name so the wire format and content type are exactly PD's.
package wire

import (
	"fmt"

	"google.golang.org/grpc/encoding"
)

type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(gogoMessage)
	if !ok {
		return nil, fmt.Errorf("wire: %T is not a gogoproto message", v)
	}
	return m.Marshal()
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(gogoMessage)
	if !ok {
		return fmt.Errorf("wire: %T is not a gogoproto message", v)
	}
	return m.Unmarshal(data)
}

func (codec) Name() string { return "proto" }

func init() {
	encoding.RegisterCodec(codec{})
}

// Version is what the stand-ins report as their release, from the image (see e2e/images.ts).
func Version(fallback string) string {
	return envOr("TIKV_CVM_STANDIN_VERSION", fallback)
}

// GitHash is the commit the stand-in reports as built from, as TiKV's TIKV_BUILD_GIT_HASH and PD's
// versioninfo.PDGitHash are set when the real binaries are built (TiKV: a compile-time env read by
// components/server/src/node.rs create_store; PD: -ldflags -X in its Makefile). A rebuilt stand-in
// reports another one with: go build -ldflags "-X tikv-cvm.test/standins/internal/wire.GitHash=<hash>".
var GitHash = "tikv-cvm-e2e-stand-in"

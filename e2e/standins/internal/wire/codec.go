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

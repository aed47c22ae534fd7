// Command standin is one static binary installed in the e2e images as /pd-server, /pd-ctl and
// /tikv-server: it behaves as the program it is called by (argv[0]), far enough for tikv-cvm's
// end-to-end test (see README.md here). A test fixture, never offered to users.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"tikv-cvm.test/standins/internal/pd"
	"tikv-cvm.test/standins/internal/pdctl"
	"tikv-cvm.test/standins/internal/tikv"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	// `standin <program> args...` works too, for running outside an image.
	if name == "standin" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "pd-server":
		os.Exit(pd.Main(args))
	case "pd-ctl":
		os.Exit(pdctl.Main(args))
	case "tikv-server":
		os.Exit(tikv.Main(args))
	default:
		fmt.Fprintf(os.Stderr, "standin: called as %q; expected pd-server, pd-ctl or tikv-server\n", name)
		os.Exit(2)
	}
}

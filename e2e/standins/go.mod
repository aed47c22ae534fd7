// Stand-ins for pd-server, pd-ctl and tikv-server used by the end-to-end test only (see
// e2e/README.md). Never shipped to users.
module tikv-cvm.test/standins

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/pingcap/kvproto v0.0.0-20260608025309-50b863799195
	github.com/spf13/cobra v1.10.2
	golang.org/x/net v0.56.0
	google.golang.org/grpc v1.81.1
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	golang.org/x/sys v0.46.0 // indirect
	golang.org/x/text v0.38.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260226221140-a57be14db171 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

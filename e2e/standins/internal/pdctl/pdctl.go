// Package pdctl is the pd-ctl stand-in: its connection flags (-u/--pd, --cacert, --cert, --key)
// and the commands tikv-cvm's outputs and docs use (store, store <id>, store delete <id>,
// member, member leader show, health, scheduler show/add/remove, cluster, config show
// replication), printing PD's JSON answers as pd-ctl does (tools/pd-ctl/pdctl/command).
package pdctl

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tikv-cvm.test/standins/internal/tlsx"
)

type client struct {
	url   string
	files tlsx.Files
}

func (c *client) do(method, path string, body any) (string, error) {
	var tlsCfg *tls.Config
	if on, err := c.files.Enabled(); err != nil {
		return "", err
	} else if on {
		if tlsCfg, err = c.files.Client(); err != nil {
			return "", err
		}
	}
	var payload io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		payload = bytes.NewReader(data)
	}
	base := c.url
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/")+path, payload)
	if err != nil {
		return "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("[%d] %s", res.StatusCode, strings.TrimSpace(string(text)))
	}
	return string(text), nil
}

// Main runs pd-ctl with args and returns the exit code.
func Main(args []string) int {
	c := &client{}
	root := &cobra.Command{Use: "pd-ctl", Short: "Placement Driver control (tikv-cvm end-to-end test stand-in)", SilenceUsage: true}
	root.PersistentFlags().StringVarP(&c.url, "pd", "u", "http://127.0.0.1:2379", "address of PD")
	root.PersistentFlags().StringVar(&c.files.CA, "cacert", "", "path of file that contains list of trusted SSL CAs")
	root.PersistentFlags().StringVar(&c.files.Cert, "cert", "", "path of file that contains X509 certificate in PEM format")
	root.PersistentFlags().StringVar(&c.files.Key, "key", "", "path of file that contains X509 key in PEM format")

	show := func(method, path string, body any) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			out, err := c.do(method, path, body)
			if err != nil {
				return err
			}
			cmd.Println(out)
			return nil
		}
	}
	store := &cobra.Command{Use: "store [id]", Args: cobra.MaximumNArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		path := "/pd/api/v1/stores"
		if len(args) == 1 {
			path = "/pd/api/v1/store/" + args[0]
		}
		return show(http.MethodGet, path, nil)(cmd, args)
	}}
	store.AddCommand(&cobra.Command{Use: "delete <id>", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		if _, err := c.do(http.MethodDelete, "/pd/api/v1/store/"+args[0], nil); err != nil {
			return err
		}
		cmd.Println("Success!")
		return nil
	}})
	member := &cobra.Command{Use: "member", Args: cobra.NoArgs, RunE: show(http.MethodGet, "/pd/api/v1/members", nil)}
	leader := &cobra.Command{Use: "leader"}
	leader.AddCommand(&cobra.Command{Use: "show", Args: cobra.NoArgs, RunE: show(http.MethodGet, "/pd/api/v1/leader", nil)})
	leader.AddCommand(&cobra.Command{Use: "resign", Args: cobra.NoArgs, RunE: show(http.MethodPost, "/pd/api/v1/leader/resign", nil)})
	member.AddCommand(leader)
	scheduler := &cobra.Command{Use: "scheduler"}
	scheduler.AddCommand(&cobra.Command{Use: "show", Args: cobra.NoArgs, RunE: show(http.MethodGet, "/pd/api/v1/schedulers", nil)})
	add := &cobra.Command{Use: "add"}
	add.AddCommand(&cobra.Command{Use: "evict-leader-scheduler <store_id>", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		var id float64
		if _, err := fmt.Sscan(args[0], &id); err != nil {
			return fmt.Errorf("invalid store id %q", args[0])
		}
		return show(http.MethodPost, "/pd/api/v1/schedulers", map[string]any{"name": "evict-leader-scheduler", "store_id": id})(cmd, args)
	}})
	scheduler.AddCommand(add)
	scheduler.AddCommand(&cobra.Command{Use: "remove <scheduler>", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
		if _, err := c.do(http.MethodDelete, "/pd/api/v1/schedulers/"+args[0], nil); err != nil {
			return err
		}
		cmd.Println("Success!")
		return nil
	}})
	config := &cobra.Command{Use: "config"}
	configShow := &cobra.Command{Use: "show"}
	configShow.AddCommand(&cobra.Command{Use: "replication", Args: cobra.NoArgs, RunE: show(http.MethodGet, "/pd/api/v1/config/replicate", nil)})
	config.AddCommand(configShow)
	root.AddCommand(store, member, scheduler, config,
		&cobra.Command{Use: "health", Args: cobra.NoArgs, RunE: show(http.MethodGet, "/pd/api/v1/health", nil)},
		&cobra.Command{Use: "cluster", Args: cobra.NoArgs, RunE: show(http.MethodGet, "/pd/api/v1/cluster", nil)},
	)
	root.SetArgs(args)
	root.SetOut(os.Stdout)
	if err := root.Execute(); err != nil {
		return 1
	}
	return 0
}

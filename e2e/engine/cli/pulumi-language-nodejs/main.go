// Command pulumi-language-nodejs is this repository's Node.js language host for the Pulumi engine.
//
// Upstream's host (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs) is a separate Go module
// the Go module proxy does not serve, so this is a small host of our own, written against the
// LanguageRuntime gRPC contract of sdk/v3 at the same version as the CLI. It does what the engine
// needs for `pulumi up/preview/refresh/destroy/install/about` and policy packs: it lists the
// plugins the program's node_modules ask for, and runs the program (and policy packs) with the
// @pulumi/pulumi runner in node_modules, passing the arguments and environment that runner reads.
// Code generation, packing and linking (`pulumi convert`, `pulumi package`) are not implemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// Module paths of the runners @pulumi/pulumi ships, resolved from the program directory.
	programRunner    = "@pulumi/pulumi/cmd/run"
	policyPackRunner = "@pulumi/pulumi/cmd/run-policy-pack"
	pluginRunner     = "@pulumi/pulumi/cmd/run-plugin"

	// Exit code with which @pulumi/pulumi's runner says it already printed an actionable error.
	exitAfterUserMessage = 32
)

func main() {
	flag.String("tracing", "", "Zipkin-compatible tracing endpoint (accepted, not used)")
	runtimeName := flag.String("runtime", "nodejs", "only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this host runs nodejs only", *runtimeName))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cancel := make(chan bool)
	go func() { <-ctx.Done(); close(cancel) }()

	h := newHost()
	// The engine passes its own address as the last argument, and we exit when it goes away.
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[len(args)-1]
		if err := rpcutil.Healthcheck(ctx, h.engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check: %w", err))
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host: %w", err))
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first stdout line
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(err)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	// cancelled by the engine's Cancel call; stops a running program.
	cancelCtx context.Context
	cancel    context.CancelFunc
}

func newHost() *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{cancelCtx: ctx, cancel: cancel}
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.EngineAddress
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// GetRequiredPlugins is superseded by GetRequiredPackages; the engine falls back on Unimplemented.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "use GetRequiredPackages")
}

// GetRequiredPackages lists every package under the program's node_modules whose package.json
// says `"pulumi": {"resource": true}`, with the plugin name and version it names (the package's
// own version when the pulumi section has none). Policy packs nested in the tree are skipped:
// their plugins are not the program's.
func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	var packages []*pulumirpc.PackageDependency
	seen := map[string]bool{}
	root := filepath.Join(req.Info.ProgramDirectory, "node_modules")
	var walk func(dir string) error
	walk = func(dir string) error {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || seen[real] {
			return nil //nolint:nilerr // a dangling link is not a package
		}
		seen[real] = true
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			return nil //nolint:nilerr // files (e.g. node_modules/.bin links) hold no packages
		}
		if pack, _ := workspace.DetectPolicyPackPathAt(real); pack != "" {
			return nil
		}
		if dep, err := readPackage(filepath.Join(real, "package.json")); err != nil {
			// As upstream: a package that cannot be read is reported, not fatal.
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
		} else if dep != nil {
			packages = append(packages, dep)
		}
		entries, err := os.ReadDir(real)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
				if err := walk(filepath.Join(real, e.Name())); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// readPackage returns the plugin a package.json asks for, or nil when it asks for none.
func readPackage(path string) (*pulumirpc.PackageDependency, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var pkg struct {
		Name    string                  `json:"name"`
		Version string                  `json:"version"`
		Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, nil //nolint:nilerr // test fixtures inside packages may hold broken JSON
	}
	if !pkg.Pulumi.Resource {
		return nil, nil
	}
	name := pkg.Pulumi.Name
	if name == "" {
		var ok bool
		if name, ok = strings.CutPrefix(pkg.Name, "@pulumi/"); !ok {
			return nil, fmt.Errorf("%s: a third-party plugin package must name its plugin in pulumi.name", path)
		}
	}
	v := pkg.Pulumi.Version
	if v == "" {
		v = pkg.Version
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: v, Server: pkg.Pulumi.Server}
	if p := pkg.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	return dep, nil
}

// options are the Pulumi.yaml `runtime.options` this host reads.
type options struct {
	typescript     bool
	tsconfig       string
	nodeargs       []string
	packageManager npm.PackageManagerType
}

func parseOptions(raw map[string]any) (options, error) {
	o := options{typescript: true, packageManager: npm.AutoPackageManager}
	if v, ok := raw["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return o, errors.New("runtime option typescript must be a boolean")
		}
		o.typescript = b
	}
	if v, ok := raw["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, errors.New("runtime option tsconfig must be a string")
		}
		o.tsconfig = s
	}
	if v, ok := raw["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return o, errors.New("runtime option nodeargs must be a string")
		}
		args, err := shlex.Split(s)
		if err != nil {
			return o, fmt.Errorf("runtime option nodeargs: %w", err)
		}
		o.nodeargs = args
	}
	if v, ok := raw["packagemanager"]; ok {
		s, _ := v.(string)
		switch pm := npm.PackageManagerType(s); pm {
		case npm.AutoPackageManager, npm.NpmPackageManager, npm.YarnPackageManager, npm.PnpmPackageManager,
			npm.BunPackageManager:
			o.packageManager = pm
		default:
			return o, fmt.Errorf("runtime option packagemanager must be auto, npm, yarn, pnpm or bun, got %v", v)
		}
	}
	return o, nil
}

// env adds what @pulumi/pulumi's runner reads for TypeScript to base.
func (o options) env(base []string) []string {
	if o.typescript {
		base = append(base, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfig != "" {
		base = append(base, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfig)
	}
	return base
}

// resolve finds a module the way the program itself would, from its directory.
func resolve(ctx context.Context, node, dir, module string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)) } catch (e) {`+
		` console.error(e.code === "MODULE_NOT_FOUND" ? "@pulumi/pulumi is not installed: run npm install in %s" : e.message);`+
		` process.exit(1) }`, module, dir)
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
	} else if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Run runs the program with @pulumi/pulumi's runner, which connects to the engine's resource
// monitor itself. Arguments and environment follow what that runner parses
// (node_modules/@pulumi/pulumi/cmd/run/index.js, runtime/settings.js).
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	programDir := req.GetInfo().GetProgramDirectory()
	runner, err := resolve(ctx, node, programDir, programRunner)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runner)
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress)
	flagArg("organization", req.GetOrganization())
	flagArg("project", req.GetProject())
	flagArg("root-directory", req.GetInfo().GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	args = append(args, req.GetInfo().GetEntryPoint())
	args = append(args, req.GetArgs()...)

	// The runner reads config keys in their old "<namespace>:config:<name>" form.
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))

	runCtx, stop := context.WithCancel(h.cancelCtx)
	defer stop()
	context.AfterFunc(ctx, stop)
	cmd := exec.CommandContext(runCtx, node, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = opts.env(env)
	// Node may switch its stdio to non-blocking mode: give it pipes, never our own descriptors.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitAfterUserMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: "could not run node: " + err.Error()}, nil
	}
}

// RunPlugin runs a plugin written in Node.js; the engine uses it for policy packs
// (`pulumi preview --policy-pack DIR`), which @pulumi/pulumi's run-policy-pack serves.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	node, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	isPolicyPack := req.GetKind() == string(apitype.AnalyzerPlugin)
	runnerModule := pluginRunner
	if isPolicyPack {
		runnerModule = policyPackRunner
	}
	runner, err := resolve(ctx, node, dir, runnerModule)
	if err != nil {
		return err
	}
	args := append([]string{runner}, opts.nodeargs...)
	if isPolicyPack { // the runner takes the pack's directory last
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}
	env := opts.env(req.GetEnv())

	var proxy *sdk.PolicyProxy
	if isPolicyPack {
		// A policy pack reads the stack's configuration from its environment: learn it from the
		// engine's first call through sdk's proxy, which then hands the connection to the pack.
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return err
		}
		cfg, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return err
		}
		if cfg != nil {
			add := func(k, v string) {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			add("PULUMI_NODEJS_ORGANIZATION", cfg.Organization)
			add("PULUMI_NODEJS_PROJECT", cfg.Project)
			add("PULUMI_NODEJS_STACK", cfg.Stack)
			add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(cfg.DryRun))
			if cfg.Config != nil {
				b, err := json.Marshal(cfg.Config)
				if err != nil {
					return err
				}
				add("PULUMI_CONFIG", string(b))
			}
		}
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	if isPolicyPack {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	if proxy != nil {
		if err := proxy.Attach(ctx, cmd); err != nil {
			return err
		}
	} else if err := cmd.Wait(); err != nil {
		return fmt.Errorf("plugin %s exited: %w", req.GetName(), err)
	}
	return closer.Close()
}

// InstallDependencies runs the project's package manager (`pulumi install`, `pulumi new`).
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.IsTerminal)
	if err != nil {
		return err
	}
	defer closer.Close()
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if root, err := npm.FindWorkspaceRoot(dir); err == nil {
		dir = root
	} else if !errors.Is(err, npm.ErrNotInWorkspace) {
		return err
	}
	fmt.Fprintln(stdout, "Installing dependencies...")
	if _, err := npm.Install(server.Context(), opts.packageManager, dir, false, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Finished installing dependencies")
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, err
	}
	dir := req.GetInfo().GetProgramDirectory()
	pm, err := npm.ResolvePackageManager(opts.packageManager, dir)
	if err != nil {
		return nil, err
	}
	pkgs, err := pm.ListPackages(ctx, dir, req.TransitiveDependencies)
	if err != nil {
		return nil, err
	}
	deps := make([]*pulumirpc.DependencyInfo, len(pkgs))
	for i, p := range pkgs {
		deps[i] = &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Template(context.Context, *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

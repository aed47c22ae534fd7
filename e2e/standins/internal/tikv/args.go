package tikv

import (
	"fmt"
	"strings"
)

// tikv-server's command line as clap 2 parses it (cmd/tikv-server/src/main.rs at v8.5.7):
// --long value, --long=value, -S value, -Svalue; aliases; comma-delimited multi-values; an
// unknown argument or a repeated single-value option is an error (exit status 1).
type argSpec struct {
	long       string
	short      byte
	aliases    []string
	takesValue bool
	valueName  string
	multiple   bool // multiple(true) + use_delimiter(",")
	possible   []string
}

var argSpecs = []argSpec{
	{long: "config", short: 'C', takesValue: true, valueName: "FILE"},
	{long: "config-check"},
	{long: "config-info", takesValue: true, valueName: "FORMAT", possible: []string{"json"}},
	{long: "log-level", short: 'L', aliases: []string{"log"}, takesValue: true, valueName: "LEVEL",
		possible: []string{"trace", "debug", "info", "warn", "warning", "error", "critical", "fatal"}},
	{long: "log-file", short: 'f', takesValue: true, valueName: "FILE"},
	{long: "addr", short: 'A', takesValue: true, valueName: "IP:PORT"},
	{long: "advertise-addr", takesValue: true, valueName: "IP:PORT"},
	{long: "status-addr", takesValue: true, valueName: "IP:PORT"},
	{long: "advertise-status-addr", takesValue: true, valueName: "IP:PORT"},
	{long: "data-dir", short: 's', aliases: []string{"store"}, takesValue: true, valueName: "PATH"},
	{long: "capacity", takesValue: true, valueName: "CAPACITY"},
	{long: "pd-endpoints", aliases: []string{"pd", "pd-endpoint"}, takesValue: true, valueName: "PD_URL", multiple: true},
	{long: "labels", aliases: []string{"label"}, takesValue: true, valueName: "KEY=VALUE", multiple: true},
	{long: "print-sample-config"},
	{long: "metrics-addr", takesValue: true, valueName: "IP:PORT"},
	{long: "help", short: 'h'},
	{long: "version", short: 'V'},
}

type matches struct {
	values map[string][]string
	flags  map[string]bool
}

func (m matches) value(name string) (string, bool) {
	v, ok := m.values[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

type usageError struct{ msg string }

func (e usageError) Error() string {
	return fmt.Sprintf("error: %s\n\nUSAGE:\n    tikv-server [FLAGS] [OPTIONS]\n\nFor more information try --help", e.msg)
}

func findLong(name string) *argSpec {
	for i := range argSpecs {
		s := &argSpecs[i]
		if s.long == name {
			return s
		}
		for _, a := range s.aliases {
			if a == name {
				return s
			}
		}
	}
	return nil
}

func findShort(c byte) *argSpec {
	for i := range argSpecs {
		if argSpecs[i].short == c && c != 0 {
			return &argSpecs[i]
		}
	}
	return nil
}

func display(s *argSpec) string {
	if s.takesValue {
		return fmt.Sprintf("--%s <%s>", s.long, s.valueName)
	}
	return "--" + s.long
}

func parseArgs(args []string) (matches, error) {
	m := matches{values: map[string][]string{}, flags: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var spec *argSpec
		var inline *string
		switch {
		case strings.HasPrefix(arg, "--") && len(arg) > 2:
			name := arg[2:]
			if k, v, ok := strings.Cut(name, "="); ok {
				name, inline = k, &v
			}
			spec = findLong(name)
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			spec = findShort(arg[1])
			if rest := arg[2:]; rest != "" {
				rest = strings.TrimPrefix(rest, "=")
				inline = &rest
			}
		}
		if spec == nil {
			return m, usageError{fmt.Sprintf("Found argument '%s' which wasn't expected, or isn't valid in this context", arg)}
		}
		if !spec.takesValue {
			if inline != nil {
				return m, usageError{fmt.Sprintf("Found argument '%s' which wasn't expected, or isn't valid in this context", arg)}
			}
			if m.flags[spec.long] {
				return m, usageError{fmt.Sprintf("The argument '%s' was provided more than once, but cannot be used multiple times", display(spec))}
			}
			m.flags[spec.long] = true
			continue
		}
		var value string
		switch {
		case inline != nil:
			value = *inline
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			return m, usageError{fmt.Sprintf("The argument '%s' requires a value but none was supplied", display(spec))}
		}
		if _, seen := m.values[spec.long]; seen && !spec.multiple {
			return m, usageError{fmt.Sprintf("The argument '%s' was provided more than once, but cannot be used multiple times", display(spec))}
		}
		values := []string{value}
		if spec.multiple {
			values = strings.Split(value, ",")
		}
		for _, v := range values {
			if len(spec.possible) > 0 && !contains(spec.possible, v) {
				return m, usageError{fmt.Sprintf("'%s' isn't a valid value for '%s'\n\t[possible values: %s]", v, display(spec), strings.Join(spec.possible, ", "))}
			}
		}
		m.values[spec.long] = append(m.values[spec.long], values...)
	}
	return m, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

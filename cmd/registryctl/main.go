// Command registryctl is the command-line client of the registry's API. Its
// verify commands check the register against its signed Merkle log:
//
//	registryctl verify              the log, the served registrations and the audit trail
//	registryctl verify-search NUMBER a stored search against the log as of its position
//	registryctl verify-checkpoint   only the signed checkpoint and that it extends the last one seen
//	registryctl prove NUMBER        one's own event: its inclusion under the signed checkpoint and its commitments
//	registryctl witness             a C2SP tlog-witness that cosigns checkpoints that extend the last it cosigned
//
// -witness KEY (repeated) and -witnesses K require K of those witnesses'
// cosignatures on the checkpoint.
//
// registryctl file -csv FILE files a CSV's rows in bulk and writes each
// row's number or problem. And registryctl receive is a webhook receiver that checks each delivery's
// signature and prints each notice once, as a line of JSON.
//
// Settings: -url (REGISTRY_URL), -token (REGISTRY_TOKEN, an auditor's for
// verify), -key (REGISTRY_LOG_KEY_PUBLIC: the verifier key, or @FILE),
// -state (where the last verified checkpoint is kept).
//
// Exit status: 0 when everything holds, 1 when a finding was reported,
// 2 when the verification could not be carried out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/translog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// errFindings means the verification ran and found something wrong.
var errFindings = errors.New("findings reported")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: registryctl verify | verify-search NUMBER | verify-checkpoint | prove NUMBER [-id ID]  [-url URL] [-token TOKEN] [-key KEY|@FILE] [-state FILE] [-witness KEY ... -witnesses K]\n       registryctl witness -keygen NAME | -key FILE -log KEY [-state FILE] [-addr HOST:PORT]\n       registryctl demo -url URL -admin-token TOKEN\n       registryctl receive [-addr HOST:PORT] -secret SECRET   (a webhook receiver that checks signatures)\n       registryctl file -csv FILE [-url URL] [-token TOKEN]   (files each row; writes its number or problem)")
		return 2
	}
	cmd, args := args[0], args[1:]
	if cmd == "file" {
		all, err := fileCSV(ctx, args, getenv, stdout, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		if !all {
			return 1
		}
		return 0
	}
	if cmd == "receive" {
		if err := receive(ctx, args, getenv, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		return 0
	}
	if cmd == "witness" {
		if err := witnessCmd(ctx, args, getenv, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		return 0
	}
	if cmd == "demo" {
		if err := demo(ctx, args, stdout); err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		return 0
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", or(getenv("REGISTRY_URL"), "http://127.0.0.1:8080"), "the registry's address")
	token := fs.String("token", getenv("REGISTRY_TOKEN"), "a bearer token (an auditor's for verify)")
	key := fs.String("key", getenv("REGISTRY_LOG_KEY_PUBLIC"), "the log's verifier key, or @FILE; by default the key pinned in the state file, or else the registry's own on first use")
	state := fs.String("state", defaultState(getenv), "the file that keeps the last checkpoint verified")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	var witnesses []string
	fs.Func("witness", "a witness's cosignature verifier key, or @FILE (repeat for each)", func(s string) error {
		witnesses = append(witnesses, s)
		return nil
	})
	quorum := fs.Int("witnesses", -1, "how many of the -witness keys must cosign the checkpoint (default: all)")
	var ids []string
	fs.Func("id", "for prove: an identity number the event names, whose commitment must open to it (repeat for each)", func(s string) error {
		ids = append(ids, s)
		return nil
	})
	// Flags may come after the command's argument too.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if whose, ok := tokenFor[cmd]; ok && *token == "" {
		fmt.Fprintln(stderr, noToken(cmd, whose))
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	v := &verifier{api: newClient(*url, *token), out: stdout, statePath: *state}
	if strings.HasPrefix(*key, "@") {
		b, err := os.ReadFile((*key)[1:])
		if err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		*key = string(b)
	}
	v.key = strings.TrimSpace(*key)
	for _, w := range witnesses {
		if strings.HasPrefix(w, "@") {
			b, err := os.ReadFile(w[1:])
			if err != nil {
				fmt.Fprintln(stderr, "registryctl:", err)
				return 2
			}
			w = string(b)
		}
		wv, err := translog.WitnessVerifier(w)
		if err != nil {
			fmt.Fprintln(stderr, "registryctl:", err)
			return 2
		}
		v.witnesses = append(v.witnesses, wv)
	}
	v.quorum = *quorum
	if v.quorum < 0 || v.quorum > len(v.witnesses) {
		v.quorum = len(v.witnesses)
	}

	// A verification holds the whole log in memory: collect garbage less
	// often than the default, for a third less time spent on it.
	debug.SetGCPercent(300)
	var err error
	switch {
	case cmd == "verify" && len(positional) == 0:
		err = v.verify(ctx)
	case cmd == "verify-search" && len(positional) == 1:
		err = v.verifySearch(ctx, positional[0])
	case cmd == "verify-checkpoint" && len(positional) == 0:
		err = v.verifyCheckpoint(ctx)
	case cmd == "prove" && len(positional) == 1:
		err = v.prove(ctx, positional[0], ids)
	default:
		fmt.Fprintln(stderr, "usage: registryctl verify | verify-search NUMBER | verify-checkpoint | prove EVENT-NUMBER [-id ID]")
		return 2
	}
	switch {
	case errors.Is(err, errFindings):
		fmt.Fprintf(stdout, "FAILED: %s\n", plural(v.findings, "finding", "findings"))
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "registryctl:", err)
		return 2
	}
	fmt.Fprintln(stdout, "OK")
	return 0
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func defaultState(getenv func(string) string) string {
	if p := getenv("REGISTRYCTL_STATE"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "registryctl-state.json"
	}
	return filepath.Join(dir, "registryctl", "state.json")
}

// tokenFor names, for each command that calls the API with a token, whose
// token it needs.
var tokenFor = map[string]string{
	"verify":            "an auditor's",
	"verify-search":     "an auditor's",
	"verify-checkpoint": "any user's",
	"prove":             "the filer's",
	"file":              "a registrant's",
}

// noToken is what a command that needs a token says when it has none,
// before it makes a request that could only be refused.
func noToken(cmd, whose string) string {
	return fmt.Sprintf("registryctl %s: no token: give -token TOKEN (%s bearer token) or set REGISTRY_TOKEN", cmd, whose)
}

// plural is n with the noun that goes with it: "1 witness", "2 witnesses".
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

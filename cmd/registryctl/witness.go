package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/translog"
	"github.com/movable-registry/registry/internal/witness"
)

// witnessCmd runs a C2SP tlog-witness that anyone (a bank, a court) can run
// beside the registry: it cosigns each checkpoint that extends the last one
// it cosigned and refuses any other, keeping that size in its state file.
//
//	registryctl witness -keygen NAME > witness.key    makes a key; prints the verifier key on stderr
//	registryctl witness -key witness.key -log VKEY -state DIR [-addr HOST:PORT]
func witnessCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keygen := fs.String("keygen", "", "make a key for a witness of this name (a schema-less URL, say witness.bank.example) and print it")
	keyFile := fs.String("key", getenv("REGISTRY_WITNESS_KEY_FILE"), "the file holding the witness's private key")
	addr := fs.String("addr", "127.0.0.1:8090", "where to serve POST /add-checkpoint")
	state := fs.String("state", "witness-state.json", "the file that keeps the latest checkpoint cosigned for each log")
	var logs []witness.Log
	fs.Func("log", "a log to follow: its verifier key, or ORIGIN=KEY when the origin is not the key's name (repeat for each)", func(s string) error {
		l, err := witness.ParseLog(s)
		logs = append(logs, l)
		return err
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keygen != "" {
		skey, vkey, err := translog.GenerateWitnessKey(*keygen, rand.Reader)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, skey)
		fmt.Fprintln(stderr, "verifier key (give it to the registry and to verifiers):", vkey)
		return nil
	}
	if *keyFile == "" || len(logs) == 0 {
		return errors.New("usage: registryctl witness -key FILE -log VERIFIER-KEY [-log ...] [-state FILE] [-addr HOST:PORT]")
	}
	skey, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	signer, vkey, err := translog.WitnessSigner(string(skey))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	w, err := witness.New(signer, logs, *state, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var origins []string
	for _, l := range logs {
		origins = append(origins, fmt.Sprintf("%s (at %d)", l.Origin, w.Latest(l.Origin)))
	}
	fmt.Fprintf(stdout, "witness %s on http://%s, following %s\nverifier key: %s\n", signer.Name(), ln.Addr(), strings.Join(origins, ", "), vkey)
	srv := &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

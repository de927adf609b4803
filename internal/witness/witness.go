// Package witness is a C2SP tlog-witness: it follows logs by their
// checkpoints, cosigns each checkpoint that a consistency proof shows
// extends the one it cosigned last, and refuses any other (a fork, a
// rollback, a second history of one size). It also holds the client the
// registry asks witnesses with.
package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/statefile"
	"github.com/movable-registry/registry/internal/translog"
)

// Log is a log the witness follows: its origin and the key that signs its
// checkpoints.
type Log struct {
	Origin   string
	Verifier note.Verifier
}

// ParseLog reads a log as "-log" names it: the log's verifier key, optionally
// preceded by its origin and "=" when the origin is not the key's name.
func ParseLog(s string) (Log, error) {
	origin, vkey, found := strings.Cut(s, "=")
	if !found {
		vkey = s
	}
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return Log{}, fmt.Errorf("log key %q: %w", vkey, err)
	}
	if !found {
		origin = v.Name()
	}
	return Log{Origin: origin, Verifier: v}, nil
}

// seen is what the witness keeps for a log: the latest checkpoint it
// cosigned.
type seen struct {
	Size int64     `json:"size"`
	Root tlog.Hash `json:"root"`
	Note string    `json:"note"`
	At   time.Time `json:"at"`
}

// Witness cosigns checkpoints of the logs it follows. Its state, the latest
// checkpoint cosigned for each log, is a file written before any answer.
type Witness struct {
	signer note.Signer
	logs   map[string]Log
	path   string
	log    *slog.Logger

	mu    sync.Mutex // held from the check of a request to its state's write
	state map[string]seen
}

// New makes a witness that signs with signer, follows logs and keeps its
// state in the file at path (created when absent).
func New(signer note.Signer, logs []Log, path string, logger *slog.Logger) (*Witness, error) {
	if logger == nil {
		logger = slog.Default()
	}
	w := &Witness{signer: signer, logs: map[string]Log{}, path: path, log: logger, state: map[string]seen{}}
	for _, l := range logs {
		w.logs[l.Origin] = l
	}
	if err := statefile.Load(path, &w.state); err != nil {
		return nil, err
	}
	return w, nil
}

// Latest is the size of the latest checkpoint cosigned for origin.
func (w *Witness) Latest(origin string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[origin].Size
}

// Refusal is a request the witness does not cosign, with the HTTP status the
// protocol gives it.
type Refusal struct {
	Status int
	Reason string
	// Latest is the size the witness cosigned last, for a 409.
	Latest int64
}

func (r *Refusal) Error() string { return fmt.Sprintf("%d: %s", r.Status, r.Reason) }

func refuse(status int, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// Add handles one add-checkpoint request and returns the cosignature lines,
// or a *Refusal.
func (w *Witness) Add(body []byte) ([]byte, error) {
	req, err := translog.ParseAddCheckpoint(body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%v", err)
	}
	origin, _, _ := strings.Cut(string(req.Note), "\n")
	l, ok := w.logs[origin]
	if !ok {
		return nil, refuse(http.StatusNotFound, "this witness does not follow the log %q", origin)
	}
	n, err := note.Open(req.Note, note.VerifierList(l.Verifier))
	if err != nil {
		return nil, refuse(http.StatusForbidden, "the checkpoint is not signed by the log's key: %v", err)
	}
	cp, err := translog.Parse(n.Text)
	if err != nil || cp.Origin != origin {
		return nil, refuse(http.StatusBadRequest, "the checkpoint cannot be read: %v", err)
	}
	if req.OldSize > cp.Size {
		return nil, refuse(http.StatusBadRequest, "old size %d is larger than the checkpoint's %d", req.OldSize, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.state[origin]
	if req.OldSize != last.Size {
		r := refuse(http.StatusConflict, "the latest checkpoint cosigned has size %d", last.Size)
		r.Latest = last.Size
		return nil, r
	}
	switch {
	case cp.Size == 0 && cp.Root != translog.Hash(sha256.Sum256(nil)):
		return nil, refuse(http.StatusUnprocessableEntity, "a checkpoint of size 0 must have the empty tree's root")
	case req.OldSize == 0 && len(req.Proof) > 0:
		return nil, refuse(http.StatusUnprocessableEntity, "a proof from the empty tree must be empty")
	case req.OldSize == cp.Size && cp.Root != last.Root && last.Size > 0:
		w.log.Warn("a second checkpoint of one size: the log shows two histories", "origin", origin, "size", cp.Size,
			"cosigned", last.Note, "refused", string(req.Note))
		return nil, refuse(http.StatusUnprocessableEntity, "a checkpoint of size %d with another root was cosigned before", cp.Size)
	case req.OldSize > 0 && req.OldSize < cp.Size:
		if err := tlog.CheckTree(req.Proof, cp.Size, cp.Root, req.OldSize, last.Root); err != nil {
			w.log.Warn("a checkpoint that does not extend the one cosigned", "origin", origin, "old", req.OldSize, "size", cp.Size, "error", err)
			return nil, refuse(http.StatusUnprocessableEntity, "the checkpoint of %d does not extend the one of %d cosigned before", cp.Size, req.OldSize)
		}
	}
	sig, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, err
	}
	next := maps.Clone(w.state)
	if next == nil { // a state file that says null
		next = map[string]seen{}
	}
	next[origin] = seen{Size: cp.Size, Root: cp.Root, Note: string(req.Note), At: time.Now().UTC()}
	// On disk before the answer goes out.
	if err := statefile.Save(w.path, next); err != nil {
		return nil, err
	}
	w.state = next
	// The answer is the signature lines of the note Sign made.
	return sig[len(n.Text)+1:], nil
}

// ServeHTTP serves POST /add-checkpoint.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 64<<10))
	if err != nil {
		http.Error(rw, "the body is too large", http.StatusRequestEntityTooLarge)
		return
	}
	sigs, err := w.Add(body)
	var ref *Refusal
	switch {
	case errors.As(err, &ref) && ref.Status == http.StatusConflict:
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", ref.Latest)
	case errors.As(err, &ref):
		http.Error(rw, ref.Reason, ref.Status)
	case err != nil:
		w.log.Error("add-checkpoint", "error", err)
		http.Error(rw, "the witness could not keep its state", http.StatusInternalServerError)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(sigs)
	}
}

// Client asks one witness for cosignatures.
type Client struct {
	name string
	url  string
	hc   *http.Client
}

// NewClient makes a client for the witness whose verifier key is vkey and
// whose submission prefix is url.
func NewClient(vkey, url string, hc *http.Client) (*Client, error) {
	v, err := translog.WitnessVerifier(vkey)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{name: v.Name(), url: strings.TrimSuffix(url, "/"), hc: hc}, nil
}

// ParseClient reads a witness as the registry's configuration names it:
// "<verifier key>=<url>".
func ParseClient(s string, hc *http.Client) (*Client, error) {
	vkey, url, ok := strings.Cut(s, "=")
	if !ok || url == "" {
		return nil, fmt.Errorf("witness %q: expected <verifier key>=<submission URL>", s)
	}
	return NewClient(vkey, url, hc)
}

// Name is the witness's key name.
func (c *Client) Name() string { return c.name }

// AddCheckpoint sends one add-checkpoint request. A witness that cosigned a
// checkpoint of another size last answers *translog.WitnessConflict.
func (c *Client) AddCheckpoint(ctx context.Context, req translog.AddCheckpoint) ([]byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/add-checkpoint", bytes.NewReader(req.Marshal()))
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusConflict:
		n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("witness %s: a 409 without a size: %q", c.name, body)
		}
		return nil, &translog.WitnessConflict{Size: n}
	default:
		return nil, fmt.Errorf("witness %s: %w", c.name, &Refusal{Status: resp.StatusCode, Reason: strings.TrimSpace(string(body))})
	}
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/registrytest"
)

// docOrder is the order in which the documents' runnable blocks run, one
// after the other on one register; documents not named run after these, in
// the order of their names.
var docOrder = []string{"README.md", "docs/worked-example.md", "docs/notices.md", "docs/verifying.md"}

// docBlock is one fenced shell block of a document.
type docBlock struct {
	file string
	line int
	run  bool
	text string
}

// docBlocks reads the sh and bash blocks of a Markdown file. Each must say
// in its info string whether it is run ("sh run") or only shown ("sh norun").
func docBlocks(file string, src []byte) ([]docBlock, error) {
	var blocks []docBlock
	var cur *docBlock
	var errs []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur != nil {
			if strings.HasPrefix(line, "```") {
				blocks = append(blocks, *cur)
				cur = nil
			} else {
				cur.text += line + "\n"
			}
			continue
		}
		info, ok := strings.CutPrefix(line, "```")
		if !ok || strings.HasPrefix(info, "`") {
			continue
		}
		fields := strings.Fields(info)
		if len(fields) == 0 || (fields[0] != "sh" && fields[0] != "bash" && fields[0] != "shell") {
			// Another language, or plain text: skip to its end.
			for sc.Scan() {
				n++
				if strings.HasPrefix(sc.Text(), "```") {
					break
				}
			}
			continue
		}
		b := &docBlock{file: file, line: n}
		switch {
		case slices.Contains(fields[1:], "run"):
			b.run = true
		case slices.Contains(fields[1:], "norun"):
		default:
			errs = append(errs, fmt.Sprintf("%s:%d: a %s block says neither run nor norun (```%s run, or ```%s norun)", file, n, fields[0], fields[0], fields[0]))
		}
		cur = b
	}
	if cur != nil {
		errs = append(errs, fmt.Sprintf("%s:%d: the block is not closed", file, cur.line))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return blocks, nil
}

func TestDocBlocksAreMarked(t *testing.T) {
	t.Parallel()
	src := []byte("text\n```sh run\necho one\n```\n```go\nfunc f() {}\n```\n```bash norun\nmake run\n```\n```sh\nls\n```\n")
	_, err := docBlocks("x.md", src)
	if err == nil || !strings.Contains(err.Error(), "x.md:11: a sh block says neither run nor norun") {
		t.Errorf("an unmarked block: %v", err)
	}
	blocks, err := docBlocks("x.md", src[:bytes.Index(src, []byte("```sh\nls"))])
	if err != nil || len(blocks) != 2 || !blocks[0].run || blocks[0].text != "echo one\n" || blocks[1].run {
		t.Errorf("blocks %+v, %v", blocks, err)
	}
}

// TestDocExamples runs every shell block of the README and docs/ that is
// marked to run, as written, in order, against what make run makes: it
// builds registryd and registryctl into a scratch project folder, starts
// scripts/run.sh there on a fresh database and a loopback port, and runs
// each document's blocks as one bash script in that folder.
func TestDocExamples(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed by the documents' examples: apt-get install -y %s", tool, tool)
		}
	}
	files := slices.Clone(docOrder)
	more, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(more)
	for _, f := range more {
		if f := strings.TrimPrefix(f, "../../"); !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	var blocks []docBlock
	for _, f := range files {
		src, err := os.ReadFile("../../" + f)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := docBlocks(f, src)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, bs...)
	}

	// The project folder as make run leaves it: bin/, configs/, scripts/.
	project := t.TempDir()
	if err := os.Mkdir(filepath.Join(project, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"registryd", "registryctl"} {
		if err := os.Symlink(registrytest.Program(t, name), filepath.Join(project, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"scripts/run.sh", "configs/registry.yaml"} {
		b, err := os.ReadFile("../../" + f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(project, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(project, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr, receiver := freePort(t), freePort(t)
	env := append(os.Environ(), "REGISTRY_ADDR="+addr, "HOME="+project, "REGISTRY_TOKEN=", "REGISTRY_URL=")
	server := exec.Command("bash", "scripts/run.sh")
	server.Dir = project
	server.Env = append(slices.Clone(env), "DATABASE_URL="+pgtest.URL(t), "REGISTRY_RUN_NO_BUILD=1",
		"REGISTRY_WEBHOOK_ALLOW_HOSTS=127.0.0.1", "REGISTRY_SHUTDOWN_GRACE=0s", "REGISTRY_METRICS_TOKEN="+metricsToken,
		"REGISTRY_ADMIN_TOKEN=", "REGISTRY_LOG_KEY=", "REGISTRY_LOG_KEY_FILE=")
	var serverOut bytes.Buffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() {
		_ = server.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = server.Process.Kill()
			<-exited
		}
	})
	waitServing(t, addr, exited, serverOut.String)
	// make run tells a fresh register's operator how to sign in.
	if !strings.Contains(serverOut.String(), "first admin:  sign in at http://"+addr+"/signin") {
		t.Errorf("make run does not give the first admin's sign-in:\n%s", serverOut.String())
	}

	ran := 0
	for i := 0; i < len(blocks); {
		file := blocks[i].file
		var script strings.Builder
		for ; i < len(blocks) && blocks[i].file == file; i++ {
			if blocks[i].run {
				fmt.Fprintf(&script, "# %s:%d\n%s", file, blocks[i].line, blocks[i].text)
				ran++
			}
		}
		if script.Len() == 0 {
			continue
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script.String())
		cmd.Dir = project
		cmd.Env = append(slices.Clone(env), "RECEIVER="+receiver)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s's examples failed: %v\n%s\nregistryd's log:\n%s", file, err, out, tail(serverOut.String(), 40))
		}
		if testing.Verbose() {
			t.Logf("%s's examples:\n%s", file, out)
		}
		for _, want := range map[string][]string{
			"docs/worked-example.md": {`"matched_by": "current_name"`, `"status": "cancelled"`, `"code": "invalid_number"`,
				`"code": "version_mismatch"`, `"status": "withdrawn"`, `"code": "unauthenticated"`, "1 result, 1 expected from the log\nOK\n"},
			"docs/notices.md":   {`{"kind":"watch_match","registration_number":"`, `{"attempt":1,"status_code":204}`},
			"docs/verifying.md": {"identity number 110101199003071233: its commitment in the record opens to it", "audit entries checked"},
		}[file] {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s's examples do not print %s:\n%s", file, want, out)
			}
		}
	}
	if ran == 0 {
		t.Fatal("no block is marked to run")
	}
	// Nothing the examples did left the log unsigned.
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	if m, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(m.Body)
		m.Body.Close()
		if !bytes.Contains(b, []byte("\nregistry_log_checkpoint_failures_total 0\n")) {
			t.Errorf("/metrics: checkpoints failed:\n%s", b)
		}
	}
	// The examples leave the first admin's one-time password unused, and
	// bootstrap (which make run asks) says so; once the admin has chosen
	// its own, it no longer does.
	bootstrapSays := func() string {
		cmd := exec.Command(filepath.Join(project, "bin", "registryd"), "bootstrap")
		cmd.Env = server.Env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("registryd bootstrap: %v\n%s", err, out)
		}
		return string(out)
	}
	const unused = "the first admin admin@registry.local has not yet replaced its one-time password"
	if out := bootstrapSays(); !strings.Contains(out, unused) {
		t.Errorf("bootstrap on a register whose first admin has not signed in says:\n%s", out)
	}
	firstAdmin, err := os.ReadFile(filepath.Join(project, "var", "first-admin"))
	if err != nil {
		t.Fatal(err)
	}
	_, password, _ := strings.Cut(string(firstAdmin), "one-time password: ")
	password, _, _ = strings.Cut(password, "\n")
	r, err := http.Post("http://"+addr+"/api/v1/password", "application/json",
		strings.NewReader(`{"email":"admin@registry.local","password":"`+password+`","new_password":"the operator's own pass phrase"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /password with the one-time password: %s", r.Status)
	}
	if out := bootstrapSays(); strings.Contains(out, unused) {
		t.Errorf("bootstrap after the first admin chose its password says:\n%s", out)
	}
	// River's routine lines stay out of the default log.
	if strings.Contains(serverOut.String(), "River") || strings.Contains(serverOut.String(), "river") {
		t.Errorf("River logs at the default level:\n%s", tail(serverOut.String(), 20))
	}
}

// freePort is a loopback address nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tail is s's last n lines.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// short writes a duration's default as the documentation does (720h, not
// 720h0m0s).
func short(def string) string {
	if _, err := time.ParseDuration(def); err != nil {
		return def
	}
	for _, tail := range []string{"0m0s", "0s"} {
		if strings.HasSuffix(def, tail) && len(def) > len(tail) && strings.ContainsAny(def[len(def)-len(tail)-1:len(def)-len(tail)], "hm") {
			def = strings.TrimSuffix(def, tail)
		}
	}
	return def
}

// Every setting of the table is a row of docs/configuration.md that names
// its key, its variable and its default.
func TestTheDocumentationListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // a row by each key its first cell names
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		for _, f := range strings.Split(cells[1], "`")[1:] {
			if f = strings.TrimSpace(f); f != "" && !strings.ContainsAny(f, " ,") {
				rows[f] = line
			}
		}
	}
	keys := map[string]bool{}
	for _, s := range settings {
		if keys[s.key] {
			t.Errorf("%s is in the table twice", s.key)
		}
		keys[s.key] = true
		if s.key == "log.key" { // the variable's only: never in the file
			if !strings.Contains(string(b), "`"+s.env+"`") {
				t.Errorf("docs/configuration.md does not name %s", s.env)
			}
			continue
		}
		row, ok := rows[s.key]
		if !ok {
			t.Errorf("docs/configuration.md has no row for %s", s.key)
			continue
		}
		cells := strings.Split(row, "|")
		if s.env != "" && !strings.Contains(cells[2], "`"+s.env+"`") {
			t.Errorf("%s: the row does not name %s: %s", s.key, s.env, cells[2])
		}
		if s.def != "" && s.def != cpus && s.def != "false" && !strings.Contains(cells[3], "`"+short(s.def)+"`") && !strings.Contains(cells[3], short(s.def)) {
			t.Errorf("%s: the row's default %q does not say %s", s.key, strings.TrimSpace(cells[3]), short(s.def))
		}
	}
}

// The defaults are the ones each package documents, and pass their rules.
func TestTheDefaultsKeepTheRules(t *testing.T) {
	c := Defaults()
	c.DatabaseURL = "postgres://x"
	if err := checked(&c); err != nil {
		t.Fatal(err)
	}
	if c.TokenTTL != 30*24*time.Hour || c.SimilarNames != 5 || c.Sequencer.MaxBatch != 256 || c.Web.SessionTTL != 12*time.Hour ||
		c.Log.WitnessTimeout != 5*time.Second || len(c.Reminders.DaysBefore) != 3 || c.Idempotency.Retention != 24*time.Hour {
		t.Errorf("defaults %+v", c)
	}
}

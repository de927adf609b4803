package httpapi

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTheGuideExplainsEveryProblemCode keeps the table of problem codes in
// docs/integrating.md ("Problem codes") the codes of Problem.code in the
// OpenAPI document, which TestOpenAPIListsEveryProblemCode keeps the codes
// the service sends: a new code needs a row saying what a client does
// about it, and a code gone takes its row with it.
func TestTheGuideExplainsEveryProblemCode(t *testing.T) {
	t.Parallel()
	documented := documentedProblemCodes(t)
	guide, err := os.ReadFile("../../docs/integrating.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(guide), "\n## Problem codes\n")
	if !ok {
		t.Fatal(`docs/integrating.md has no "## Problem codes" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([0-9]{3}) \\| (.+) \\|$")
	var explained []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("a row that is not | `code` | status | what to do |: %s", line)
			continue
		}
		if status, _ := strconv.Atoi(m[2]); status < 400 || status > 599 || len(m[3]) < 20 {
			t.Errorf("%s: status %s, advice %q", m[1], m[2], m[3])
		}
		if slices.Contains(explained, m[1]) {
			t.Errorf("%s has two rows", m[1])
		}
		explained = append(explained, m[1])
	}

	slices.Sort(documented)
	slices.Sort(explained)
	if diff := cmp.Diff(documented, explained); diff != "" {
		t.Errorf("docs/integrating.md's problem codes (-Problem.code in openapi.yaml +the guide's table):\n%s", diff)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileCSV: registryctl file files each row of a CSV and writes its
// number, or its problem naming the field; run again on the same file it
// answers every row as before and files nothing more.
func TestFileCSV(t *testing.T) {
	t.Parallel()
	r := openRegister(t)
	token := r.user("91310000132209458L", "registrant")
	rows := []string{
		"kind,grantor_name,grantor_uscc,secured_name,secured_uscc,description,period_months,serial_numbers,max_amount,reference," +
			"grantor_address,grantor_legal_representative,secured_address,secured_legal_representative,agreed_with_grantor",
		"chattel_mortgage,上海星辰精密机械有限公司,91310115MA1K3YJ12G,某银行,91310000132209458L,数控加工中心,36,DMG-1;DMG-2,5000000.00,LN-1,上海市浦东新区,王建国,上海市浦东新区,李明,是",
		"chattel_mortgage,上海星辰精密机械有限公司,91310115MA1K3YJ12X,某银行,91310000132209458L,叉车,12,,,LN-2,上海市浦东新区,王建国,上海市浦东新区,李明,是",
		"financial_lease,\"上海云杉数控设备有限公司\",91310104MA1FR2K3XK,某银行,91310000132209458L,\"机床, 两台\",24,HAAS-1,,LN-3,上海市徐汇区,张伟,上海市浦东新区,李明,yes",
	}
	path := filepath.Join(t.TempDir(), "filings.csv")
	if err := os.WriteFile(path, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run1 := func() (int, [][]string, string) {
		var out, log bytes.Buffer
		code := run(context.Background(), []string{"file", "-csv", path, "-url", r.url, "-token", token}, func(string) string { return "" }, &out, &log)
		records, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("the output is not CSV: %v\n%s", err, out.String())
		}
		return code, records, log.String()
	}
	code, got, log := run1()
	if code != 1 || len(got) != 4 {
		t.Fatalf("exit %d, output %v\n%s", code, got, log)
	}
	if got[1][1] != "201" || len(got[1][2]) != 20 || got[3][1] != "201" || len(got[3][2]) != 20 {
		t.Errorf("the good rows: %v, %v", got[1], got[3])
	}
	if got[2][1] != "422" || got[2][2] != "" || !strings.Contains(got[2][3], "grantors[0].uscc") {
		t.Errorf("the bad row: %v", got[2])
	}
	if !strings.Contains(log, "3/3") {
		t.Errorf("no progress shown: %q", log)
	}
	var filed int
	if err := r.db.QueryRow("SELECT count(*) FROM events").Scan(&filed); err != nil {
		t.Fatal(err)
	}
	code, again, _ := run1()
	if code != 1 || again[1][2] != got[1][2] || again[3][2] != got[3][2] {
		t.Errorf("the second run: %d %v, want the first's numbers", code, again)
	}
	var now int
	if err := r.db.QueryRow("SELECT count(*) FROM events").Scan(&now); err != nil {
		t.Fatal(err)
	}
	if now != filed {
		t.Errorf("the second run filed %d more", now-filed)
	}
}

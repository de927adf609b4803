package postgres

import "testing"

// TestSegmentEndFollowsPostgreSQLsNaming checks the WAL position after a
// segment named as pg_walfile_name names it, for 16 MiB and 1 GiB segments,
// and that names of no segment give none.
func TestSegmentEndFollowsPostgreSQLsNaming(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		size int64
		end  int64
		ok   bool
	}{
		{"000000010000000000000001", 16 * mib, 2 * 16 * mib, true},
		// log 3, segment 0x74 of 256 per log: positions 3/74000000 to 3/75000000
		{"000000010000000300000074", 16 * mib, 3<<32 + 0x75000000, true},
		{"00000002000000030000007F.partial", 16 * mib, 3<<32 + 0x80000000, true},
		{"000000010000000000000002.00000028.backup", 16 * mib, 3 * 16 * mib, true},
		{"000000010000000200000003", 1024 * mib, 2<<32 + 4*1024*mib, true},
		{"00000002.history", 16 * mib, 0, false},
		{"", 16 * mib, 0, false},
		{"0000000100000000000000ZZ", 16 * mib, 0, false},
	} {
		end, ok := segmentEnd(tc.name, tc.size)
		if end != tc.end || ok != tc.ok {
			t.Errorf("segmentEnd(%q, %d) = %#x, %v; want %#x, %v", tc.name, tc.size, end, ok, tc.end, tc.ok)
		}
	}
}

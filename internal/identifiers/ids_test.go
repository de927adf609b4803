package identifiers

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalUSCC(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
		wantCheck      bool
	}{
		{"valid code from the API example", "91310115MA1K3YJ12G", "91310115MA1K3YJ12G", false, false},
		{"valid code with a digit check character", "911100001000065859", "911100001000065859", false, false},
		{"check value 0 maps to the digit 0", "91440300MA5DC6YB00", "91440300MA5DC6YB00", false, false},
		{"lower case and spaces are canonicalised", " 91310104ma1fr8t2xm ", "91310104MA1FR8T2XM", false, false},
		{"wrong check character", "91310115MA1K3YJ12H", "", true, true},
		{"one mistyped character", "91310115MA1K3YJ13G", "", true, true},
		{"two neighbours swapped", "91310115MA1K3JY12G", "", true, true},
		{"letter I is not in the alphabet", "91310115MA1I3YJ12G", "", true, false},
		{"letter O is not in the alphabet", "9131011OMA1K3YJ12G", "", true, false},
		{"too short", "91310115MA1K3YJ12", "", true, false},
		{"too long", "91310115MA1K3YJ12GG", "", true, false},
		{"empty", "", "", true, false},
		{"full-width digits are not accepted", "９1310115MA1K3YJ12G", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalUSCC(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CanonicalUSCC(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("CanonicalUSCC(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.wantCheck != errors.Is(err, ErrCheck) {
				t.Errorf("CanonicalUSCC(%q) error = %v, want check error %v", tt.in, err, tt.wantCheck)
			}
		})
	}
}

func TestCanonicalIDNumber(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"valid number", "110101199003071233", "110101199003071233", false},
		{"valid number with X", "44030419851231002X", "44030419851231002X", false},
		{"lower-case x is stored upper-case", "44030419851231002x", "44030419851231002X", false},
		{"born on a leap day", "310115198802290038", "310115198802290038", false},
		{"wrong check digit", "110101199003071234", "", true},
		{"two neighbours swapped", "110101199003071323", "", true},
		{"29 February of a common year", "310115198702290038", "", true},
		{"month 13", "110101199013071233", "", true},
		{"letter inside", "1101011990030712A3", "", true},
		{"15-digit first-generation number", "110101900307123", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalIDNumber(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CanonicalIDNumber(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("CanonicalIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalLEI(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  bool
	}{
		{"published LEI", "5493001KJTIIGC8Y1R12", false},
		{"another published LEI", "529900T8BM49AURSDO55", false},
		{"lower case accepted", "5493001kjtiigc8y1r12", false},
		{"wrong check digits", "5493001KJTIIGC8Y1R13", true},
		{"letters in the check digits", "5493001KJTIIGC8Y1R1A", true},
		{"too short", "5493001KJTIIGC8Y1R1", true},
		{"punctuation", "5493001KJTIIGC8Y1-12", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CanonicalLEI(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CanonicalLEI(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestNumberCheckDigits(t *testing.T) {
	// Check digits computed independently (98 - (n*100 mod 97)).
	if got := NumberCheckDigits("202611260000000012"); got != "25" {
		t.Fatalf("NumberCheckDigits = %q, want 25", got)
	}
	valid := "20261126000000001225"
	if err := CheckNumber(valid); err != nil {
		t.Fatalf("CheckNumber(%q) = %v", valid, err)
	}
	// Every single-digit error and every swap of two different neighbours is detected.
	for i := 0; i < 20; i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == valid[i] {
				continue
			}
			b := []byte(valid)
			b[i] = d
			if CheckNumber(string(b)) == nil {
				t.Errorf("single-digit error %s not detected", b)
			}
		}
		if i < 19 && valid[i] != valid[i+1] {
			b := []byte(valid)
			b[i], b[i+1] = b[i+1], b[i]
			if CheckNumber(string(b)) == nil {
				t.Errorf("swap %s not detected", b)
			}
		}
	}
	for _, bad := range []string{"", "2026112600000000122", "2026112600000000122A"} {
		if CheckNumber(bad) == nil {
			t.Errorf("CheckNumber(%q) accepted", bad)
		}
	}
}

func TestCanonicalNumberTakesANumberAsItIsTyped(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"as stored", "20261126000000001225", "20261126000000001225", true},
		{"in groups of four with spaces", " 2026 1126 0000 0000 1225 ", "20261126000000001225", true},
		{"with dashes", "20261126-0000-0000-1225", "20261126000000001225", true},
		{"with an ideographic space and full-width digits", "２０２６１１２６\u3000000000001225", "20261126000000001225", true},
		{"with a wrong check digit", "2026 1126 0000 0000 1226", "20261126000000001226", false},
		{"with a letter", "2026 1126 0000 0000 122a", "2026112600000000122a", false},
		{"too long to be typed", strings.Repeat("1", 101), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CanonicalNumber(tc.in)
			if got != tc.want || (err == nil) != tc.ok {
				t.Errorf("CanonicalNumber(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestSerialKey(t *testing.T) {
	for _, v := range []string{"DMG-2019-004411", "dmg 2019 004411", "ＤＭＧ－２０１９－００４４１１"} {
		if got := SerialKey(v); got != "DMG2019004411" {
			t.Errorf("SerialKey(%q) = %q", v, got)
		}
	}
}

package registry

import (
	"strings"

	"github.com/movable-registry/registry/internal/auth"
)

// shown is a registration as c may see it: the identity numbers of
// individuals are masked for anyone but its parties (an individual's account
// is one by its identity number), its controller, and the registry's staff.
func shown(c Caller, r Registration) Registration {
	if c.Has(auth.Auditor) || c.Has(auth.Admin) || isPartyOrController(c, r) {
		return r
	}
	r.Grantors = maskedParties(r.Grantors)
	r.SecuredParties = maskedParties(r.SecuredParties)
	return r
}

func isPartyOrController(c Caller, r Registration) bool {
	if c.OrganizationID != "" && c.OrganizationID == r.Controller.OrganizationID {
		return true
	}
	if c.OrganizationIDNumber != "" {
		// An individual's account: a party by its identity number.
		for _, ps := range [][]Party{r.Grantors, r.SecuredParties} {
			for _, p := range ps {
				if p.Type == "individual" && p.IDNumber == c.OrganizationIDNumber {
					return true
				}
			}
		}
		return false
	}
	if c.OrganizationUSCC == "" {
		return false
	}
	if c.OrganizationUSCC == r.Controller.USCC {
		return true
	}
	for _, ps := range [][]Party{r.Grantors, r.SecuredParties} {
		for _, p := range ps {
			if p.USCC == c.OrganizationUSCC {
				return true
			}
		}
	}
	return false
}

func maskedParties(ps []Party) []Party {
	out := make([]Party, len(ps))
	for i, p := range ps {
		if p.IDNumber != "" {
			p.IDNumber = maskID(p.IDNumber)
		}
		out[i] = p
	}
	return out
}

// MaskIDNumber is an identity number as shown to those who may not see it
// whole (maskID).
func MaskIDNumber(id string) string { return maskID(id) }

// maskID hides everything of an identity number but the six digits of the
// place of registration (110101************). The birth date, the sequence
// and the check character all stay hidden: any one of them shown narrows a
// guess of the rest, and a search by identity number would confirm it.
func maskID(id string) string {
	if len(id) <= 6 {
		return strings.Repeat("*", len(id))
	}
	return id[:6] + strings.Repeat("*", len(id)-6)
}

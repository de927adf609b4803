// Package registry is the domain of the register: registrations, their events,
// objections, searches and accounts, the rules that govern them, and the
// stores they need. It imports no transport and no ORM.
//
// Each feature has a file of its own name here, in internal/postgres (its
// SQL) and in internal/httpapi (its routes): registrations, objections,
// searches, accounts, audit, log and deadlines.
package registry

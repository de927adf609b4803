// Package registry is the domain of the register: registrations, their events,
// objections, searches and accounts, the rules that govern them, and the
// stores they need. It imports no transport, no ORM and no database driver:
// the store (internal/postgres) turns its own failures into the domain's
// errors (ErrStoreUnavailable).
//
// A rule is found by its feature's noun, in a file of that name, with the
// feature's types, their validation and its store interface beside the
// operations:
//
//   - filing a registration: filings.go (Filing, Party, Filing.Validate);
//     its life: amendments.go, extensions.go, cancellations.go,
//     revocations.go, modificationcodes.go, and changes.go for what every
//     change shares (who may change, If-Match); many at once:
//     bulkchanges.go (each as alone); control passing to a merged or
//     divided organization's successor: successions.go; reading and listing:
//     registrations.go; who sees identity numbers: masking.go;
//   - objections.go, searches.go, history.go, watches.go, notices.go,
//     webhooks.go, drafts.go, parties.go (saved party profiles),
//     attachments.go, batch.go, statistics.go, deadlines.go (expiries,
//     lapsed objections, reminders), retention.go (individuals' personal
//     data erased 15 years after a registration ends);
//   - accounts: organizations.go (sign-up, approval), users.go, tokens.go,
//     signin.go (passwords checked, failures slowed down), passwords.go;
//     accounts.go holds the store they share;
//   - the register's record: events.go (events and their replay),
//     commitments.go (identity numbers as salted commitments), log.go
//     (checkpoints and proofs), verify.go and bulkverify.go, audit.go,
//     idempotency.go, time.go and clock.go;
//   - service.go: the Service, its Config and DefaultConfig; store.go: the
//     Store every feature's store makes; errors.go: the domain's errors and
//     field rules; validate.go: the sizes every request is held to (how
//     many parties, items, bytes of text).
//
// Most features also have a file of their own name in internal/postgres
// (their SQL) and in internal/httpapi (their routes). There, a few share
// one: users and tokens are in accounts.go of both; amendments, extensions,
// cancellations and revocations in registrations.go; the routes of watches
// and webhooks in httpapi's notices.go (what a notice reaches).
//
// A feature's rules are tested without a database by faking its store: a
// struct that embeds Store (left nil, so that a call to any other method
// panics and shows what else the feature needs) and defines the feature's
// own methods (fakes_test.go does so for the statistics). An operation that
// writes an account's data (watches, webhooks, users, tokens) also runs in
// a transaction and writes its audit entry, so its fake adds InTx (calling
// fn with itself) and InsertAudit. The pure rules,
// each Validate and an amendment's check against its registration, have
// table tests (rules_test.go); replay has events_test.go.
package registry

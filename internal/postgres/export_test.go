package postgres

// SetFlushBarrier replaces the statement that a batch's answers wait for
// (durable.go), so that a test can make it fail.
func SetFlushBarrier(s *Store, statement string) { s.seq.durable.barrier = statement }

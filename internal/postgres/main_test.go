package postgres_test

import (
	"testing"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestMain drops the test databases left in pgtest's pool after the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

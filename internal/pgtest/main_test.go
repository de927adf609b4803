package pgtest_test

import (
	"testing"

	"github.com/movable-registry/registry/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

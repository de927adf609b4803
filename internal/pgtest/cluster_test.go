package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestLeftoverClustersAreStopped: a private cluster whose test process is
// gone (its folder renamed for a process that has exited) is stopped and
// removed by the next run's first cluster.
func TestLeftoverClustersAreStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	c := NewCluster(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(c.Dir)
	orphan := filepath.Join(filepath.Dir(parent), fmt.Sprintf("registry-pg-%d-orphan", gone.Process.Pid))
	if err := os.Rename(parent, orphan); err != nil {
		t.Fatal(err)
	}
	c.Dir = filepath.Join(orphan, "data") // for the cleanup, should this fail
	removeLeftoverClusters(c.bin)
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphan's folder is still there: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port))
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the orphan's server still answers")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

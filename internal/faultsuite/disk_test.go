//go:build linux

package faultsuite

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/testenv"
)

// diskLeave is what the disk scenario leaves free on the spool's
// filesystem: about 150 events' worth, gone in ten seconds without uplink.
const diskLeave = 48 << 10

// diskNearFull fills the spool's filesystem to diskLeave free, then cuts
// the uplink so the spool must grow into the last bytes: presses are
// refused (never accepted, so never counted) while every accepted one must
// still arrive. The uplink comes back after 20 s; once the spool has been
// forwarded the operator frees the disk. Without a tmpfs it lowers
// spool.max_bytes instead (restarting the agent), which refuses with
// ErrFull rather than ENOSPC.
func diskNearFull(t *testing.T, s *system, _ *driver) {
	var filler string
	if s.spoolTmpfs != "" {
		filler = testenv.FillFS(t, s.spoolTmpfs, diskLeave)
		t.Logf("spool filesystem filled: %d bytes free", testenv.FreeBytes(t, s.spoolTmpfs))
	} else {
		// The least spool.max_bytes allows: one largest record (64 KiB)
		// and its header, about 200 events.
		s.restartAgentWith(t, 64<<10+28)
	}
	time.Sleep(3 * time.Second)
	s.uplink.Cut()
	time.Sleep(20 * time.Second)
	if refusals(t, s) == 0 {
		t.Errorf("no press was refused in 20 s without uplink: the spool never ran out of room, so this scenario proved nothing")
	}
	s.uplink.Restore()
	testenv.Eventually(t, 10*time.Second, 100*time.Millisecond, func() bool { return spoolDepth(t, s) == 0 },
		"the spool did not drain within 10 s of the uplink's return")
	// With every record forwarded and acknowledged, is the space back?
	// The spool keeps its active segment until it reaches segment_bytes
	// (8 MiB by default), so on a disk with less than that free it goes on
	// refusing: by design (spool.Config.MaxBytes says disk use exceeds the
	// limit by about two segments), not a loss, but worth seeing.
	refusedBefore := refusals(t, s)
	time.Sleep(5 * time.Second)
	if n := refusals(t, s) - refusedBefore; n > 0 {
		t.Logf("observation: %.0f presses refused in the 5 s after the spool was fully forwarded and acknowledged "+
			"(%d bytes free on its filesystem): the active segment keeps the space of acknowledged records", n, freeOr(t, s))
	}
	if filler != "" {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	} else {
		s.restartAgentWith(t, 0)
	}
}

// restartAgentWith restarts the agent (SIGTERM, as systemd would for a
// config change) with spool.max_bytes set to maxBytes, or unset for 0.
func (s *system) restartAgentWith(t *testing.T, maxBytes int64) {
	t.Helper()
	port := portOf(t, s.agentAddr)
	if err := os.WriteFile(s.agentCfg, []byte(s.agentConfig(t, port, maxBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	s.agent.Stop(t)
	s.agent.Start(t)
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// spoolDepth is the agent's pscm_agent_spool_records: records not yet
// acknowledged by the central broker.
func spoolDepth(t *testing.T, s *system) float64 {
	return metricSum(t, "http://"+s.agentAdmin+"/metrics", "pscm_agent_spool_records", "")
}

// refusals counts the presses the agent refused because it could not
// spool them, over all kiosks.
func refusals(t *testing.T, s *system) float64 {
	return metricSum(t, "http://"+s.agentAdmin+"/metrics", "pscm_agent_presses_total", `result="refused"`)
}

func freeOr(t *testing.T, s *system) int64 {
	if s.spoolTmpfs == "" {
		return -1
	}
	return testenv.FreeBytes(t, s.spoolTmpfs)
}

// metricSum adds the samples of a metric whose labels contain with.
func metricSum(t *testing.T, url, name, with string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') || !strings.Contains(line, with) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

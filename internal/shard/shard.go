// Package shard splits a fleet into N parts for N controllers running side by
// side (Kubernetes Indexed Job pods, one controller per network zone): each
// host belongs to exactly one shard, decided by the host alone.
//
// The partition is rendezvous hashing (highest random weight) over a key of the
// host: its name by default, or an inventory attribute (`--shard-by`). What it
// guarantees:
//
//   - A host's shard depends only on its key and N: never on the other hosts,
//     their order, or how many there are. Adding, removing or reordering hosts
//     moves no other host.
//   - Going from N to N+1 shards moves only hosts into the new shard (about
//     1/(N+1) of them); none moves between the old shards. Plain hash mod N would
//     move most hosts.
//   - The hash is SHA-256 of fixed bytes: the same on every platform and version.
//
// It is a separate package, next to nothing else, because the plan records a
// shard (plan.Plan.Shard) and the CLI, the merge and the tests all need the same
// partition; it imports only internal/inventory.
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/arcfleet/arcfleet/internal/inventory"
)

// MaxCount bounds N: more shards than this is a typo.
const MaxCount = 10000

// Keys --shard-by accepts.
const (
	ByName = "name" // the host's inventory name (default)
	ByVia  = "via"  // the jump host it is reached through (ssh.via): one shard per network zone's bastion
	ByTag  = "tag:" // tag:KEY, the host's resolved Azure tag KEY (e.g. tag:Zone)
)

// Spec is one shard of a partition, as recorded in a plan.
type Spec struct {
	Index int    `json:"index"` // 0-based: 0..Count-1 (Kubernetes' JOB_COMPLETION_INDEX)
	Count int    `json:"count"`
	By    string `json:"by,omitempty"` // "" = ByName
	// FleetRate is the start-rate budget (--rate, agent actions per second) given
	// for the whole fleet; the shard runs at FleetRate/Count. Recorded when the
	// shard's run starts so `resume` keeps it. 0 = no limit.
	FleetRate float64 `json:"fleet_rate,omitempty"`
}

// String is "K/N", plus " by KEY" for a key other than the name.
func (s Spec) String() string {
	out := strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
	if s.By != "" && s.By != ByName {
		out += " by " + s.By
	}
	return out
}

// Label is "K-of-N", for run directory names.
func (s Spec) Label() string {
	return "shard-" + strconv.Itoa(s.Index) + "-of-" + strconv.Itoa(s.Count)
}

// Rate is this shard's share of the fleet's start-rate budget: 1/Count of it.
func (s Spec) Rate() float64 {
	if s.Count <= 0 {
		return s.FleetRate
	}
	return s.FleetRate / float64(s.Count)
}

// SamePartition reports whether a and b are shards of the same partition
// (same N and key), whatever their index.
func SamePartition(a, b Spec) bool {
	return a.Count == b.Count && by(a.By) == by(b.By)
}

// Equal reports whether a and b are the same shard of the same partition.
func Equal(a, b Spec) bool { return SamePartition(a, b) && a.Index == b.Index }

func by(s string) string {
	if s == "" {
		return ByName
	}
	return s
}

// Parse reads "K/N" (K in 0..N-1) and a --shard-by key.
func Parse(kn, key string) (Spec, error) {
	k, n, ok := strings.Cut(strings.TrimSpace(kn), "/")
	if !ok {
		return Spec{}, fmt.Errorf("--shard %q: want K/N, e.g. 0/3 (K is 0-based: 0..N-1, as Kubernetes' JOB_COMPLETION_INDEX)", kn)
	}
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	switch {
	case err1 != nil || err2 != nil:
		return Spec{}, fmt.Errorf("--shard %q: K and N must be whole numbers, e.g. 0/3", kn)
	case ni < 1 || ni > MaxCount:
		return Spec{}, fmt.Errorf("--shard %q: N must be 1..%d", kn, MaxCount)
	case ki < 0 || ki >= ni:
		return Spec{}, fmt.Errorf("--shard %q: K must be 0..%d (0-based, as Kubernetes' JOB_COMPLETION_INDEX)", kn, ni-1)
	}
	if err := checkBy(key); err != nil {
		return Spec{}, err
	}
	s := Spec{Index: ki, Count: ni}
	if key != "" && key != ByName {
		s.By = key
	}
	return s, nil
}

func checkBy(key string) error {
	switch {
	case key == "" || key == ByName || key == ByVia:
		return nil
	case strings.HasPrefix(key, ByTag) && len(key) > len(ByTag):
		return nil
	}
	return fmt.Errorf("--shard-by %q: use name (default), via (the ssh jump host) or tag:KEY (a resolved Azure tag, e.g. tag:Zone)", key)
}

// Key is the value h is sharded by.
func Key(h *inventory.Host, key string) (string, error) {
	switch {
	case key == "" || key == ByName:
		return h.Name, nil
	case key == ByVia:
		return h.SSH.Via, nil // "" for hosts reached directly: they share one shard
	case strings.HasPrefix(key, ByTag):
		t := key[len(ByTag):]
		v, ok := h.Azure.Tags[t]
		if !ok {
			return "", fmt.Errorf("host %s has no tag %q to shard by; fix: give every host the tag (in a group or defaults), or use --shard-by name", h.Name, t)
		}
		return v, nil
	}
	return "", checkBy(key)
}

// Of is the shard (0..n-1) of key among n: the index with the highest
// SHA-256("arcfleet-shard\x00" + key + "\x00" + index), ties to the lower index.
func Of(key string, n int) int {
	best, bestW := 0, uint64(0)
	buf := make([]byte, 0, len(key)+32)
	for i := 0; i < n; i++ {
		buf = append(buf[:0], "arcfleet-shard\x00"...)
		buf = append(buf, key...)
		buf = append(buf, 0)
		buf = strconv.AppendInt(buf, int64(i), 10)
		sum := sha256.Sum256(buf)
		if w := binary.BigEndian.Uint64(sum[:8]); i == 0 || w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

// Select returns the hosts of shard s, in their given order. A host without
// the key (a missing tag) is an error naming it; the first few are listed.
func Select(hosts []*inventory.Host, s Spec) ([]*inventory.Host, error) {
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return nil, fmt.Errorf("shard %d/%d: K must be 0..N-1", s.Index, s.Count)
	}
	var out []*inventory.Host
	var errs []error
	memo := map[string]int{} // keys shared by many hosts (tag, via) are hashed once
	for _, h := range hosts {
		k, err := Key(h, s.By)
		if err != nil {
			if len(errs) < 5 {
				errs = append(errs, err)
			} else if len(errs) == 5 {
				errs = append(errs, errors.New("... and more hosts without it"))
			}
			continue
		}
		i, ok := memo[k]
		if !ok {
			i = Of(k, s.Count)
			if s.By != "" && s.By != ByName {
				memo[k] = i
			}
		}
		if i == s.Index {
			out = append(out, h)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Sizes is how many hosts each of n shards gets, for messages and tests.
func Sizes(hosts []*inventory.Host, key string, n int) ([]int, error) {
	sizes := make([]int, n)
	for _, h := range hosts {
		k, err := Key(h, key)
		if err != nil {
			return nil, err
		}
		sizes[Of(k, n)]++
	}
	return sizes, nil
}

// Missing lists the indices 0..n-1 not in have, sorted.
func Missing(have []int, n int) []int {
	seen := make(map[int]bool, len(have))
	for _, i := range have {
		seen[i] = true
	}
	var out []int
	for i := 0; i < n; i++ {
		if !seen[i] {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Identity names what a run was of, whatever shard of it: "sha256:" + hex
// SHA-256 of the action, the inventory digest, the --limit expression and, for
// a sharded plan, the partition (N and key, not the index). Shards made from
// one inventory for one job share it; `arcfleet report merge` refuses shards
// whose identities differ. It is computed from the plan's fields, so plans
// saved before it existed have one too.
func (p *Plan) Identity() string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	field("arcfleet-plan-identity-1")
	field(p.Action)
	field(p.InventoryDigest)
	field(p.Limit)
	if p.Shard != nil {
		field(strconv.Itoa(p.Shard.Count))
		by := p.Shard.By
		if by == "" {
			by = "name"
		}
		field(by)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseJournal(t *testing.T) {
	rec := `{"t":"2024-01-01T00:00:00Z","event":"started","host":"a"}`
	tests := []struct {
		name    string
		data    string
		recs    int
		valid   int
		wantErr string
	}{
		{"empty", "", 0, 0, ""},
		{"one", rec + "\n", 1, len(rec) + 1, ""},
		{"torn last line", rec + "\n" + rec[:20], 1, len(rec) + 1, ""},
		{"whole record without newline", rec + "\n" + rec, 1, len(rec) + 1, ""},
		{"blank lines", "\n" + rec + "\n\n", 1, len(rec) + 3, ""},
		{"damaged middle", rec + "\n{oops\n" + rec + "\n", 1, len(rec) + 1, "j.jsonl:2: damaged journal record"},
		{"no event", rec + "\n{}\n", 1, len(rec) + 1, "j.jsonl:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, valid, err := parseJournal("j.jsonl", []byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.recs || int(valid) != tc.valid {
				t.Errorf("%d records, valid %d; want %d, %d", len(recs), valid, tc.recs, tc.valid)
			}
		})
	}
}

func TestJournalGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	j, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := j.append(journalRecord{T: time.Now(), Event: evAttemptBegin, Host: fmt.Sprintf("h%d", g), Attempt: i + 1}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	j.close()
	recs, _, err := readJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 500 {
		t.Fatalf("%d records, want 500", len(recs))
	}
	last := map[string]int{}
	for _, r := range recs {
		if r.Attempt != last[r.Host]+1 {
			t.Fatalf("%s: attempt %d after %d: one host's records out of order", r.Host, r.Attempt, last[r.Host])
		}
		last[r.Host] = r.Attempt
	}
}

func TestOpenJournalCutsTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	good := `{"t":"2024-01-01T00:00:00Z","event":"started","host":"a"}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"t":"2024-01-01T00:0`), 0o600); err != nil {
		t.Fatal(err)
	}
	j, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.append(journalRecord{Event: evDone, Host: "a"}); err != nil {
		t.Fatal(err)
	}
	j.close()
	recs, valid, err := readJournal(path)
	if err != nil || len(recs) != 2 || recs[1].Event != evDone {
		t.Fatalf("records %+v err %v", recs, err)
	}
	if st, _ := os.Stat(path); st.Size() != valid {
		t.Errorf("file %d bytes, valid %d: garbage left", st.Size(), valid)
	}
}

func FuzzParseJournal(f *testing.F) {
	f.Add([]byte(`{"t":"2024-01-01T00:00:00Z","event":"started","host":"a"}` + "\n"))
	f.Add([]byte(`{"event":"done","host":"a","outcome":"ok"}` + "\n" + `{"event":"att`))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"event":"attempt-end","duration_ns":"x"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, valid, err := parseJournal("j", data)
		if valid < 0 || valid > int64(len(data)) {
			t.Fatalf("valid %d outside 0..%d", valid, len(data))
		}
		if err == nil && valid > 0 && data[valid-1] != '\n' {
			t.Fatalf("valid prefix does not end a line")
		}
		// The valid prefix parses to the same records.
		again, v2, err2 := parseJournal("j", data[:valid])
		if err == nil && (err2 != nil || len(again) != len(recs) || v2 != valid) {
			t.Fatalf("prefix reparse: %d recs (err %v), want %d", len(again), err2, len(recs))
		}
	})
}

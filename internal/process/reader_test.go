package process

import "testing"

func TestReaderURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{DefaultDatabaseURL, DefaultReaderURL},
		{"postgres://relutune:secret@db.example:6432/results?sslmode=require", "postgres://relutune_reader@db.example:6432/results?sslmode=require"},
		{"postgresql://h/d?user=owner&password=pw&sslmode=verify-full", "postgresql://relutune_reader@h/d?sslmode=verify-full"},
	} {
		got, err := ReaderURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ReaderURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"host=db user=relutune dbname=relutune", "mysql://x/y", "::"} {
		if got, err := ReaderURL(bad); err == nil {
			t.Errorf("ReaderURL(%q) = %q; want an error", bad, got)
		}
	}
}

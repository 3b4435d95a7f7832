package process

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats: text is slog's key=value lines, json one JSON object per
// line (for log collectors such as Loki, Elasticsearch or Cloud Logging).
const (
	LogText = "text"
	LogJSON = "json"
)

// NewLogger returns a logger at the named level (debug, info, warn, error)
// writing in format (text or json).
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not a level (allowed: debug, info, warn, error)", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not a format (allowed: %s, %s)", format, LogText, LogJSON)
}

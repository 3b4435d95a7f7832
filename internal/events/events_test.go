package events

import (
	"errors"
	"testing"
)

func TestConfigRejectsBadTokens(t *testing.T) {
	for _, c := range []Config{{Stream: "a.b"}, {Prefix: "a b"}, {Prefix: "x>"}} {
		if err := c.WithDefaults().validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: got %v, want ErrInvalidConfig", c, err)
		}
	}
}

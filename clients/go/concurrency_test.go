package qw

import (
	"errors"
	"strings"
	"testing"
)

func TestWithConcurrencyKeyRefusesAnEmptyALongOrAMultiLineKey(t *testing.T) {
	for _, key := range []string{"", strings.Repeat("k", MaxConcurrencyKey+1), "a\nb"} {
		o := enqueueOptions{}
		if err := WithConcurrencyKey(key)(&o); !errors.Is(err, ErrInvalidJob) {
			t.Errorf("WithConcurrencyKey(%q): got %v, want ErrInvalidJob", key, err)
		}
	}
	o := enqueueOptions{}
	if err := WithConcurrencyKey(strings.Repeat("k", MaxConcurrencyKey))(&o); err != nil || o.concurrencyKey == "" {
		t.Errorf("a key of %d characters: %v", MaxConcurrencyKey, err)
	}
}

func TestKeySubjectPutsTheKeyInBase64url(t *testing.T) {
	if got := keySubject("jobs", "sync_tenant", "tenant/42 é"); got != "jobs._key.sync_tenant.dGVuYW50LzQyIMOp" {
		t.Errorf("keySubject: %s", got)
	}
}

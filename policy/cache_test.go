package policy

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

func TestCache(t *testing.T) {
	const a = pkg + "include if input.sample.origin == \"human\"\n"
	const b = pkg + "include if input.sample.origin == \"model\"\n"
	ctx := context.Background()

	t.Run("SamePolicyCompiledOnce", func(t *testing.T) {
		c := NewCache()
		var wg sync.WaitGroup
		got := make([]*Policy, 16)
		for i := range got {
			wg.Go(func() {
				p, err := c.Get(ctx, "a", a)
				if err != nil {
					t.Error(err)
				}
				got[i] = p
			})
		}
		wg.Wait()
		for _, p := range got {
			if p == nil || p != got[0] {
				t.Fatalf("Get returned different policies for the same module")
			}
		}
		if p, _ := c.Get(ctx, "a", a); p != got[0] {
			t.Fatal("a later Get compiled again")
		}
		if n := c.compiles.Load(); n != 1 {
			t.Fatalf("compiled %d times, want 1", n)
		}
	})
	t.Run("OtherModuleOtherPolicy", func(t *testing.T) {
		c := NewCache()
		pa, _ := c.Get(ctx, "a", a)
		pb, err := c.Get(ctx, "a", b)
		if err != nil || pa == pb || pb.Where(SQLite) == pa.Where(SQLite) {
			t.Fatalf("different modules share a policy (err %v)", err)
		}
		if n := c.compiles.Load(); n != 2 {
			t.Fatalf("compiled %d times, want 2", n)
		}
	})
	t.Run("SameModuleOtherName", func(t *testing.T) {
		c := NewCache()
		p1, _ := c.Get(ctx, "one", a)
		p2, err := c.Get(ctx, "two", a)
		if err != nil || p1.Name() != "one" || p2.Name() != "two" || p1.SHA256() != p2.SHA256() {
			t.Fatalf("names %q, %q (err %v)", p1.Name(), p2.Name(), err)
		}
	})
	t.Run("ErrorsNotKept", func(t *testing.T) {
		c := NewCache()
		for range 2 {
			if _, err := c.Get(ctx, "bad", "package other\n"); registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("code = %q, want %q", registry.ErrorCode(err), registry.EINVALID)
			}
		}
		if n := c.compiles.Load(); n != 2 {
			t.Fatalf("compiled %d times, want 2 (a failure is retried)", n)
		}
	})
	t.Run("CanceledWaiter", func(t *testing.T) {
		c := NewCache()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Get(cctx, "d", DefaultModule()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		// The compilation went on for the others.
		if p, err := c.Get(ctx, "d", DefaultModule()); err != nil || p == nil {
			t.Fatalf("Get after a canceled waiter: %v", err)
		}
		if n := c.compiles.Load(); n != 1 {
			t.Fatalf("compiled %d times, want 1", n)
		}
	})
}

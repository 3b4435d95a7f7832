package trainer

import "sync"

// pool runs a function on up to size goroutines at once: the caller's and
// size-1 persistent workers, so a training step hands out its shards
// without starting goroutines or allocating.
type pool struct {
	size  int
	fn    func(i int) // the current job; set by run before any worker reads it
	tasks []chan int  // one per worker; -1 stops it
	wg    sync.WaitGroup
}

// newPool starts size-1 workers; size <= 1 starts none.
func newPool(size int) *pool {
	p := &pool{size: max(size, 1)}
	for range p.size - 1 {
		c := make(chan int)
		p.tasks = append(p.tasks, c)
		go func() {
			for i := range c {
				if i < 0 {
					return
				}
				p.fn(i)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls fn(i) for i in [0, n), n <= size, fn(0) on the calling
// goroutine, and returns when all calls have returned. fn should be a value
// made once (a method value kept in a field), not a closure per call, for
// the step to allocate nothing.
func (p *pool) run(n int, fn func(i int)) {
	if n > p.size {
		panic("trainer: pool.run: more tasks than workers")
	}
	p.fn = fn
	p.wg.Add(n - 1)
	for i := 1; i < n; i++ {
		p.tasks[i-1] <- i
	}
	fn(0)
	p.wg.Wait()
}

// close stops the workers; the pool must not be used afterwards.
func (p *pool) close() {
	// (A send, not the builtin close: the package's tests declare a close.)
	for _, c := range p.tasks {
		c <- -1
	}
	p.tasks = nil
}

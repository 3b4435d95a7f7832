package main

import "github.com/relutune/relutune/search"

// functions are the benchmark's problems, by name (search.Function).
var functions = func() map[string]search.Function {
	m := map[string]search.Function{}
	for _, f := range []search.Function{search.Branin, search.Hartmann6, search.Conditional, search.NoisyMixed} {
		m[f.Name] = f
	}
	return m
}()

package importance

import (
	"math"
	"math/rand/v2"
	"sort"
)

// feature describes one column of the design matrix: a number on the
// interval [lo, hi], or a category index in [0, k).
type feature struct {
	name        string
	categorical bool
	lo, hi      float64 // numeric domain
	k           int     // categories
}

// size is the measure of the feature's whole domain.
func (f feature) size() float64 {
	if f.categorical {
		return float64(f.k)
	}
	return f.hi - f.lo
}

// node is a regression tree node. A leaf has left == right == -1.
type node struct {
	feat        int
	threshold   float64 // numeric: x <= threshold goes left
	leftCats    uint64  // categorical: categories whose bit is set go left
	left, right int
	value       float64
}

// tree is a regression tree over the features, nodes[0] its root.
type tree struct {
	nodes []node
}

type treeParams struct {
	maxDepth        int
	minSamplesSplit int
	minSamplesLeaf  int
}

// growTree fits a tree to the rows idx of x and y (a bootstrap sample),
// choosing at each node the split over all features that most reduces the
// squared error, as scikit-learn's RandomForestRegressor does with its
// default max_features. Numeric thresholds sit midway between adjacent
// distinct values; categorical splits are the best prefix of the node's
// categories ordered by mean response, which is optimal for squared error
// (Breiman et al. 1984, section 9.4).
func growTree(feats []feature, x [][]float64, y []float64, idx []int, p treeParams, rng *rand.Rand) *tree {
	t := &tree{}
	var grow func(idx []int, depth int) int
	grow = func(idx []int, depth int) int {
		id := len(t.nodes)
		var sum float64
		for _, i := range idx {
			sum += y[i]
		}
		t.nodes = append(t.nodes, node{left: -1, right: -1, value: sum / float64(len(idx))})
		if depth >= p.maxDepth || len(idx) < p.minSamplesSplit || constant(y, idx) {
			return id
		}
		s, ok := bestSplit(feats, x, y, idx, p.minSamplesLeaf, rng)
		if !ok {
			return id
		}
		var l, r []int
		for _, i := range idx {
			if s.goesLeft(x[i][s.feat]) {
				l = append(l, i)
			} else {
				r = append(r, i)
			}
		}
		t.nodes[id].feat, t.nodes[id].threshold, t.nodes[id].leftCats = s.feat, s.threshold, s.leftCats
		left := grow(l, depth+1)
		right := grow(r, depth+1)
		t.nodes[id].left, t.nodes[id].right = left, right
		return id
	}
	grow(idx, 0)
	return t
}

func constant(y []float64, idx []int) bool {
	for _, i := range idx[1:] {
		if y[i] != y[idx[0]] {
			return false
		}
	}
	return true
}

type split struct {
	feat        int
	categorical bool
	threshold   float64
	leftCats    uint64
}

func (s split) goesLeft(v float64) bool {
	if s.categorical {
		return s.leftCats&(1<<uint(v)) != 0
	}
	return v <= s.threshold
}

// bestSplit returns the split of idx with the least total squared error,
// trying the features in a random order so that ties fall to a random one.
func bestSplit(feats []feature, x [][]float64, y []float64, idx []int, minLeaf int, rng *rand.Rand) (split, bool) {
	n := float64(len(idx))
	var total float64
	for _, i := range idx {
		total += y[i]
	}
	// Maximizing sumL²/nL + sumR²/nR minimizes the children's squared error.
	best, found := total*total/n+1e-12*math.Abs(total*total/n), false
	var out split
	order := rng.Perm(len(feats))
	sorted := make([]int, len(idx))
	for _, j := range order {
		f := feats[j]
		if f.categorical {
			type cat struct {
				c        int
				sum, cnt float64
			}
			cats := map[int]*cat{}
			for _, i := range idx {
				c := int(x[i][j])
				if cats[c] == nil {
					cats[c] = &cat{c: c}
				}
				cats[c].sum += y[i]
				cats[c].cnt++
			}
			if len(cats) < 2 {
				continue
			}
			list := make([]*cat, 0, len(cats))
			for _, c := range cats {
				list = append(list, c)
			}
			sort.Slice(list, func(a, b int) bool {
				ma, mb := list[a].sum/list[a].cnt, list[b].sum/list[b].cnt
				if ma != mb {
					return ma < mb
				}
				return list[a].c < list[b].c
			})
			var sl, nl float64
			var mask uint64
			for _, c := range list[:len(list)-1] {
				sl += c.sum
				nl += c.cnt
				mask |= 1 << uint(c.c)
				nr := n - nl
				if nl < float64(minLeaf) || nr < float64(minLeaf) {
					continue
				}
				sr := total - sl
				if g := sl*sl/nl + sr*sr/nr; g > best {
					best, found = g, true
					out = split{feat: j, categorical: true, leftCats: mask}
				}
			}
			continue
		}
		copy(sorted, idx)
		sort.Slice(sorted, func(a, b int) bool { return x[sorted[a]][j] < x[sorted[b]][j] })
		var sl float64
		for k := 0; k < len(sorted)-1; k++ {
			sl += y[sorted[k]]
			v, next := x[sorted[k]][j], x[sorted[k+1]][j]
			if v == next {
				continue
			}
			nl := float64(k + 1)
			nr := n - nl
			if nl < float64(minLeaf) || nr < float64(minLeaf) {
				continue
			}
			sr := total - sl
			if g := sl*sl/nl + sr*sr/nr; g > best {
				thr := v + (next-v)/2
				if thr >= next { // adjacent floats: keep v on the left
					thr = v
				}
				best, found = g, true
				out = split{feat: j, threshold: thr}
			}
		}
	}
	return out, found
}

// box is the region of the feature space a leaf covers: per feature an
// interval (numeric) or a set of categories.
type box struct {
	lo, hi []float64
	cats   []uint64
}

// leaf is a tree leaf with its region and its share of the domain.
type leaf struct {
	value float64
	box   box
	// frac[j] is the share of feature j's domain inside the box; weight is
	// their product, the leaf's share of the whole domain.
	frac   []float64
	weight float64
}

// leaves returns the tree's leaves with their regions clipped to the
// features' domains. Leaves whose region is empty are left out.
func (t *tree) leaves(feats []feature) []leaf {
	root := box{lo: make([]float64, len(feats)), hi: make([]float64, len(feats)), cats: make([]uint64, len(feats))}
	for j, f := range feats {
		root.lo[j], root.hi[j] = f.lo, f.hi
		if f.categorical {
			root.cats[j] = 1<<uint(f.k) - 1
		}
	}
	var out []leaf
	var walk func(id int, b box)
	walk = func(id int, b box) {
		n := t.nodes[id]
		if n.left < 0 {
			l := leaf{value: n.value, box: b, frac: make([]float64, len(feats)), weight: 1}
			for j, f := range feats {
				if f.categorical {
					l.frac[j] = float64(popcount(b.cats[j])) / float64(f.k)
				} else {
					l.frac[j] = (b.hi[j] - b.lo[j]) / f.size()
				}
				l.weight *= l.frac[j]
			}
			if l.weight > 0 {
				out = append(out, l)
			}
			return
		}
		lb, rb := b.clone(), b.clone()
		if feats[n.feat].categorical {
			lb.cats[n.feat] &= n.leftCats
			rb.cats[n.feat] &^= n.leftCats
		} else {
			lb.hi[n.feat] = math.Max(math.Min(lb.hi[n.feat], n.threshold), lb.lo[n.feat])
			rb.lo[n.feat] = math.Min(math.Max(rb.lo[n.feat], n.threshold), rb.hi[n.feat])
		}
		walk(n.left, lb)
		walk(n.right, rb)
	}
	walk(0, root)
	return out
}

func (b box) clone() box {
	return box{lo: append([]float64(nil), b.lo...), hi: append([]float64(nil), b.hi...), cats: append([]uint64(nil), b.cats...)}
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// decomposition holds one tree's leaves and the mean and variance of its
// prediction under the uniform measure on the domain.
type decomposition struct {
	leaves   []leaf
	mean     float64
	variance float64
}

func decompose(t *tree, feats []feature) decomposition {
	d := decomposition{leaves: t.leaves(feats)}
	for _, l := range d.leaves {
		d.mean += l.weight * l.value
	}
	for _, l := range d.leaves {
		d.variance += l.weight * (l.value - d.mean) * (l.value - d.mean)
	}
	return d
}

// marginalVariance is the variance, over feature j's domain, of the tree's
// prediction averaged over every other feature: the first-order term of the
// functional ANOVA decomposition (Hutter, Hoos and Leyton-Brown 2014).
// Feature j's domain is cut at every boundary of a leaf, so each cell lies
// wholly inside or outside each leaf.
func (d decomposition) marginalVariance(feats []feature, j int) float64 {
	f := feats[j]
	type cell struct{ lo, hi float64 }
	var cells []cell
	if f.categorical {
		for c := 0; c < f.k; c++ {
			cells = append(cells, cell{float64(c), float64(c)})
		}
	} else {
		cuts := []float64{f.lo, f.hi}
		for _, l := range d.leaves {
			cuts = append(cuts, l.box.lo[j], l.box.hi[j])
		}
		sort.Float64s(cuts)
		for i := 1; i < len(cuts); i++ {
			if cuts[i] > cuts[i-1] {
				cells = append(cells, cell{cuts[i-1], cuts[i]})
			}
		}
	}
	var v float64
	for _, c := range cells {
		var share float64
		if f.categorical {
			share = 1 / float64(f.k)
		} else {
			share = (c.hi - c.lo) / f.size()
		}
		var m float64
		for _, l := range d.leaves {
			inside := false
			if f.categorical {
				inside = l.box.cats[j]&(1<<uint(c.lo)) != 0
			} else {
				inside = l.box.lo[j] <= c.lo && c.hi <= l.box.hi[j]
			}
			if inside {
				// The leaf's weight over the other features only.
				m += l.value * l.weight / l.frac[j]
			}
		}
		v += share * (m - d.mean) * (m - d.mean)
	}
	return v
}

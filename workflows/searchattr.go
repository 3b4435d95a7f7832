package workflows

import "go.temporal.io/sdk/temporal"

// Custom search attributes, registered with the Temporal server (see
// scripts/stack.sh), so the Temporal UI filters studies and trials.
var (
	AttrStudy      = temporal.NewSearchAttributeKeyKeyword("RelutuneStudy")
	AttrActivation = temporal.NewSearchAttributeKeyKeyword("RelutuneActivation")
	AttrBest       = temporal.NewSearchAttributeKeyFloat64("RelutuneBest")
	AttrStatus     = temporal.NewSearchAttributeKeyKeyword("RelutuneStatus")
)

// SearchAttributeTypes lists the attributes and their Temporal types, for
// registering them (`temporal server start-dev --search-attribute`).
var SearchAttributeTypes = map[string]string{
	"RelutuneStudy":      "Keyword",
	"RelutuneActivation": "Keyword",
	"RelutuneBest":       "Double",
	"RelutuneStatus":     "Keyword",
}

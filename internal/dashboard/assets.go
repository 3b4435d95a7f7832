package dashboard

import (
	"embed"
	"io/fs"
)

// EChartsVersion is the vendored Apache ECharts release
// (assets/echarts/README.md says why and how to update it).
const EChartsVersion = "6.1.0"

//go:embed assets
var assetFS embed.FS

// assets is what /assets/ serves: the pages' script and style sheet, and
// ECharts with its licence.
var assets = mustSub(assetFS, "assets")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

func asset(name string) []byte {
	b, err := fs.ReadFile(assets, name)
	if err != nil {
		panic(err) // embedded
	}
	return b
}

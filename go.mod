module github.com/relutune/relutune

go 1.26.0

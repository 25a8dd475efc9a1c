module github.com/pscm/pscm

go 1.26

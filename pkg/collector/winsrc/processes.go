package winsrc

// maxProcesses bounds the process list (a node runs a few hundred; a runaway fork bomb must
// not make the record unbounded).
const maxProcesses = 8192

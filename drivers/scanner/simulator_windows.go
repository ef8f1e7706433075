package scanner

const syscallNoCTTY = 0

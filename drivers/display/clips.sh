#!/bin/sh
# Regenerates the voice clips with espeak-ng's Vietnamese voice (run by `go generate`).
# Each clip is one word, silence trimmed, 16 kHz mono 16-bit WAV; the chime is two
# sine tones made with sox.
set -eu
cd "$(dirname "$0")/clips"
word() { # id text
	espeak-ng -v vi -s 140 -w "/tmp/motcua-clip-$1.wav" "$2"
	sox "/tmp/motcua-clip-$1.wav" -r 16000 -b 16 -c 1 "$1.wav" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.06
	rm -f "/tmp/motcua-clip-$1.wav"
}
word khong "không"; word mot "một"; word hai "hai"; word ba "ba"; word bon "bốn"
word nam "năm"; word sau "sáu"; word bay "bảy"; word tam "tám"; word chin "chín"
word muoi "mười"; word muoi-chuc "mươi"; word mot-dau "mốt"; word tu "tư"; word lam "lăm"
word tram "trăm"; word linh "linh"; word nghin "nghìn"
word moi "mời"; word so "số"; word den "đến"; word quay "quầy"
word cong-dan "công dân"; word co "có"; word thu-tu "thứ tự"
sox -n -r 16000 -b 16 -c 1 chime.wav synth 0.35 sine 880 fade 0.01 0.35 0.2 : synth 0.5 sine 660 fade 0.01 0.5 0.35

#!/usr/bin/env bash
# Regenerate the synthetic speech clips used by tests/speech and bench/asr.py.
#   tests/data/speech/make_clips.sh            -> test clips next to this script (16 kHz mono FLAC + .txt)
#   tests/data/speech/make_clips.sh --bench D  -> the longer benchmark set into directory D
# Needs espeak-ng and sox (Debian: apt-get install -y espeak-ng sox). Output is deterministic for a given
# espeak-ng version. Each clip's .txt holds the reference text it was synthesized from.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here"
mode=tests
if [[ "${1:-}" == "--bench" ]]; then mode=bench; out="${2:?--bench needs a directory}"; fi
mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# say VOICE SPEED TEXT OUT.wav : one sentence, 16 kHz mono PCM16
say() { espeak-ng -v "$1" -s "$2" -w "$tmp/raw.wav" "$3"; sox -q "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$4"; }

# clip NAME VOICE SPEED LEAD_S GAP_S TAIL_S SENTENCE... : sentences joined by GAP_S of silence
clip() {
  local name="$1" voice="$2" speed="$3" lead="$4" gap="$5" tail="$6"; shift 6
  local parts=() i=0 text=""
  sox -q -n -r 16000 -c 1 -b 16 "$tmp/lead.wav" trim 0 "$lead"
  sox -q -n -r 16000 -c 1 -b 16 "$tmp/gap.wav" trim 0 "$gap"
  sox -q -n -r 16000 -c 1 -b 16 "$tmp/tail.wav" trim 0 "$tail"
  parts+=("$tmp/lead.wav")
  for s in "$@"; do
    say "$voice" "$speed" "$s" "$tmp/s$i.wav"
    (( i > 0 )) && parts+=("$tmp/gap.wav")
    parts+=("$tmp/s$i.wav"); text+="${text:+ }$s"; i=$((i + 1))
  done
  parts+=("$tmp/tail.wav")
  sox -q "${parts[@]}" -r 16000 -c 1 -b 16 "$out/$name.flac"
  printf '%s\n' "$text" > "$out/$name.txt"
}

if [[ $mode == tests ]]; then
  clip en_us_budget en-us 165 0.5 0 0.8 \
    "The quarterly budget review is scheduled for Thursday afternoon, so please bring the updated sales figures."
  clip en_gb_two en-gb 160 0.4 1.2 0.8 \
    "We should move the design meeting to next week." \
    "The team is still testing the new release on every platform."
  clip es_weather es 150 0.3 0 0.6 \
    "Buenos días a todos, hoy vamos a hablar del presupuesto del proyecto y de las fechas de entrega."
  clip de_meeting de 150 0.3 0 0.6 \
    "Guten Morgen zusammen, heute besprechen wir das Budget für das nächste Jahr und die neuen Mitarbeiter."
  # PII: digits are read one by one, as people say them on the phone (tests/pii/test_live_pii.py).
  clip en_us_pii en-us 130 0.5 1.2 0.8 \
    "My name is John Smith." \
    "My phone number is four two five, eight one three, two nine four seven." \
    "My card number is forty five thirty two, seventy five ninety eight, thirty three sixty seven, forty eight sixty four."
  # Custom vocabulary: two made-up product names Whisper base misspells unless they are in its prompt
  # (tests/vocabulary/test_live_filters.py).
  clip en_us_vocabulary en-us 160 0.4 0 0.8 \
    "The new dashboard is built on Grafanix and Promethor."
else
  clip bench_01 en-us 165 0.6 0.9 1.0 \
    "Good morning everyone, thanks for joining the weekly planning call." \
    "First, let us review the action items from last week." \
    "Sarah finished the migration of the customer database on Tuesday." \
    "The performance tests show that the new search page loads twice as fast."
  clip bench_02 en-gb 160 0.5 1.1 1.0 \
    "The marketing team would like to launch the campaign in early March." \
    "We still need approval from legal before we can publish the new pricing." \
    "Could someone send me the final version of the presentation by Friday?" \
    "I will share the notes with everybody after the meeting."
  clip bench_03 en-us+f3 155 0.4 0.7 1.0 \
    "Our support queue has grown over the last two weeks." \
    "Most of the tickets are about the mobile application crashing on older phones." \
    "The engineers found the problem in the image cache and a fix is ready for review." \
    "We expect to ship the update to the store next Monday."
  clip bench_04 en-gb-x-rp 170 0.5 1.4 1.0 \
    "Let me summarise the budget discussion before we move on." \
    "Travel costs are higher than planned because of the conference in Berlin." \
    "On the other hand, we saved money on cloud hosting by turning off unused servers." \
    "Overall we are still within the limits agreed at the start of the year."
  clip bench_05 en-us+m3 175 0.6 0.8 1.0 \
    "I have a question about the hiring plan for the data team." \
    "Are we still looking for two senior engineers, or has that changed?" \
    "The recruiter told me that several strong candidates applied this month." \
    "Interviews could start as soon as the job descriptions are approved."
  clip bench_06 en-us 160 0.5 1.0 1.0 \
    "Before we finish, please remember that the office will be closed on Thursday." \
    "The building manager is replacing the heating system on the second floor." \
    "If you need to work that day, you can use the meeting rooms downstairs." \
    "Thank you all, and see you at the same time next week."
fi

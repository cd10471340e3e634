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
  clip bench_07 en-us+f2 160 0.5 0.9 1.0 \
    "The design review for the checkout flow is moving to Wednesday morning." \
    "Please add your comments to the shared document before then." \
    "We want to reduce the number of steps from five to three." \
    "The payment form will remember the last card a customer used."
  clip bench_08 en-gb-scotland 155 0.4 1.2 1.0 \
    "The warehouse in Glasgow received the new shelving units yesterday." \
    "Installation will take about two weeks and should finish before the holidays." \
    "During that time, orders from the north will ship from Manchester." \
    "Customers may see delivery dates that are one or two days later than usual."
  clip bench_09 en-us+m1 165 0.5 0.8 1.0 \
    "I reviewed the security report that arrived this morning." \
    "Two of the findings are serious and need to be fixed this sprint." \
    "The others are minor, and we can schedule them for next quarter." \
    "I will open tickets and assign them to the platform team today."
  clip bench_10 en-gb 165 0.6 1.0 1.0 \
    "Our customer survey closed on Friday with almost three thousand answers." \
    "Most people are happy with the new mobile app and its faster search." \
    "The most common complaint is that notifications arrive too often." \
    "We will add a setting that lets people choose a daily summary instead."
  clip bench_11 en-us-nyc 160 0.4 0.9 1.0 \
    "The finance team needs everyone's expense reports by the end of the month." \
    "Remember to attach a photo of every receipt over twenty dollars." \
    "Reports without receipts will be sent back, which delays your payment." \
    "If you have questions, ask Maria or send a message to the finance channel."
  clip bench_12 en-us+f4 170 0.5 1.1 1.0 \
    "Let us talk about the launch timeline for the new product line." \
    "Manufacturing confirmed that the first batch will be ready in June." \
    "Marketing plans to start the advertising campaign two weeks before that." \
    "We should agree today on the price, so that the packaging can be printed."
fi

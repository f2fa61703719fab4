#!/usr/bin/env bash
# Drives N demo sessions through the kiosk's window with xdotool taps (1080x1920 portrait,
# zh-CN, demo tray): from the home page, a loss report (临时挂失) verified with a demo ID
# card, confirmed, the receipt printed and its preview closed, back home, the ID card taken
# away. Cycles through the demo ID cards. Prints the kiosk's Pss every EVERY sessions.
#
#   DISPLAY=:N scripts/kiosk-sessions.sh PID SESSIONS [EVERY]
# The kiosk must be showing the home page or the attract page.
set -euo pipefail
pid=$1 sessions=$2 every=${3:-5}
tap() { xdotool mousemove "$1" "$2" click 1; sleep "${3:-0.6}"; }
pss() { awk '/^(Pss|Anonymous):/ {v[$1]=$2} END {printf "Pss %.1f  Anonymous %.1f MB\n", v["Pss:"]/1024, v["Anonymous:"]/1024}' "/proc/$pid/smaps_rollup"; }
cards=(184 328 472 604)          # 演示身份证: 张*芳 李* 欧**娜 王*国
tap 540 1330                     # attract: 点击开始 (on the home page: harmless, reopened below)
tap 800 1712                     # 首页
echo "session 0: $(pss)"
for n in $(seq "$sessions"); do
  tap 800 605                    # 临时挂失
  tap "${cards[$(( (n - 1) % ${#cards[@]} ))]}" 1882 1.0   # place an ID card
  tap 540 556 1.5                # 用身份证核实
  tap 540 548 1.5                # 确认办理
  tap 540 580 1.5                # 打印凭条 (a receipt preview appears)
  tap 540 1640                   # 关闭
  tap 800 1712                   # 首页
  tap 990 1882                   # 取走身份证
  [ $(( n % every )) -eq 0 ] && echo "session $n: $(pss)"
done

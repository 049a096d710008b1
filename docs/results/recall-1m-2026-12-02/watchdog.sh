#!/bin/bash
# kill the given PID (and its direct children) if MemAvailable < floor; log minimum seen
pid=$1; log=$2; min=999999
while kill -0 $pid 2>/dev/null; do
  avail=$(awk '/MemAvailable/ {print int($2/1024)}' /proc/meminfo)
  [ $avail -lt $min ] && min=$avail && echo "$(date +%T) min available ${min} MB" >> $log
  if [ $avail -lt ${FLOOR_MB:-3072} ]; then
    echo "$(date +%T) available ${avail} MB < floor: killing $pid" >> $log
    for c in $(pgrep -P $pid); do kill $c; done; kill $pid; break
  fi
  sleep 2
done

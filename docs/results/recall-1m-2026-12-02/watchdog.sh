#!/bin/bash
# kill the given PID (and its direct children) if MemAvailable < 3 GB; log minimum seen
pid=$1; log=$2; min=999999
while kill -0 $pid 2>/dev/null; do
  avail=$(awk '/MemAvailable/ {print int($2/1024)}' /proc/meminfo)
  [ $avail -lt $min ] && min=$avail && echo "$(date +%T) min available ${min} MB" >> $log
  if [ $avail -lt 3072 ]; then
    echo "$(date +%T) available ${avail} MB < 3 GB: killing $pid" >> $log
    for c in $(pgrep -P $pid); do kill $c; done; kill $pid; break
  fi
  sleep 2
done

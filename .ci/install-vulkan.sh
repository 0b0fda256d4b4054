#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa lavapipe/llvmpipe) that Dawn accepts.
# Debian 12's own Mesa 22.3 is rejected by Dawn, so Mesa comes from bookworm-backports.
# The backports entry is derived from the machine's own Debian sources entry (its
# Suites: line changed), so no registry host is written into this repository.
set -euo pipefail

if vulkan_ok=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null) && \
   dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]'; then
  echo "install-vulkan: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already present"
  exit 0
fi

src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$bp" ]; then
  if [ -f "$src" ]; then
    # Take the first deb822 stanza (the main archive) and switch its suite.
    awk 'BEGIN{RS=""; ORS="\n\n"} NR==1{print; exit}' "$src" \
      | sed -E 's/^Suites:.*/Suites: bookworm-backports/' > "$bp"
  elif [ -f /etc/apt/sources.list ]; then
    line=$(grep -E '^deb [^ ]+ bookworm ' /etc/apt/sources.list | head -n1)
    echo "${line/ bookworm / bookworm-backports }" > /etc/apt/sources.list.d/backports.list
  else
    echo "install-vulkan: no Debian sources entry found to derive bookworm-backports from" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libvulkan1 >/dev/null
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "install-vulkan: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) installed"

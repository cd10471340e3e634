"""The media helpers on their own: ICE host-address restriction, downmixing, the downlink mix, levels."""

from __future__ import annotations

import math

import aioice.ice
import numpy as np
from av import AudioFrame

from parley.signaling.media import (
    MIX_RATE,
    MIX_SAMPLES,
    SILENT_VOLUME,
    HostAddresses,
    LevelMeter,
    MixTrack,
    UplinkPcm,
    downmix_s16,
    volume_from_dbov,
)


def test_media_address_restricts_and_restores_ice_host_addresses() -> None:
    original = aioice.ice.get_host_addresses
    with HostAddresses("127.0.0.1").installed():
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == []
    assert aioice.ice.get_host_addresses is original
    with HostAddresses(None).installed():  # the default leaves aioice alone
        assert aioice.ice.get_host_addresses is original


def test_packed_stereo_is_averaged_to_mono() -> None:
    stereo = np.array([[1000, 3000, -2000, -4000]], dtype=np.int16)  # two interleaved frames
    frame = AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
    frame.sample_rate = MIX_RATE
    assert downmix_s16(frame).tolist() == [2000, -3000]


def test_uplink_becomes_16k_pcm16() -> None:
    frame = AudioFrame.from_ndarray(
        np.zeros((1, MIX_SAMPLES * 2), dtype=np.int16), format="s16", layout="stereo"
    )
    frame.sample_rate = MIX_RATE
    uplink = UplinkPcm()
    total = sum(len(uplink.convert(frame)[1]) for _ in range(50))  # one second at 48 kHz
    assert 0 < total <= 16_000 * 2


def test_mix_sums_senders_with_saturation_and_forgets_leavers() -> None:
    mix = MixTrack()
    mix.push("a", np.full(MIX_SAMPLES, 20_000, dtype=np.int16), MIX_RATE)
    mix.push("b", np.full(MIX_SAMPLES, 20_000, dtype=np.int16), MIX_RATE)
    mix.push("c", np.full(MIX_SAMPLES, -5, dtype=np.int16), MIX_RATE)
    mix.forget("c")
    assert set(mix._mix().tolist()) == {32767}
    assert set(mix._mix().tolist()) == {0}  # both buffers were consumed: silence


def test_level_meter_reads_dbov_since_the_last_reading() -> None:
    meter = LevelMeter()
    assert meter.take() is None  # nothing arrived: no level
    meter.add(np.full(MIX_SAMPLES, 16_384, dtype=np.int16))  # half of full scale
    assert math.isclose(meter.take() or 0.0, 20 * math.log10(0.5))
    meter.add(np.zeros(MIX_SAMPLES, dtype=np.int16))
    assert meter.take() == -math.inf  # the previous reading was reset


def test_volume_is_the_clamped_attenuation() -> None:
    assert volume_from_dbov(-6.02) == 6
    assert volume_from_dbov(0.5) == 0
    assert volume_from_dbov(-200.0) == SILENT_VOLUME == 127
    assert volume_from_dbov(-math.inf) == 127
    assert volume_from_dbov(None) == 127

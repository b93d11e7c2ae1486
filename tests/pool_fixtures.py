"""Real mainnet coinbases and blocks for the pool tests, each with where it was found.

Nothing here is made up: every string is copied from a public fixture of another project
(named beside it), and the tests prove it against the shared data where they can — a block's
header hashes to the hash the block-stats file or bitcoinj's checkpoints give for its height,
and its coinbase's txid reaches the header's merkle root.
"""

from __future__ import annotations

# -- scalahub/CryptoNode, btc/src/test/scala/org/sh/cryptonode/TestBlockParser.scala -------------------
# Whole raw blocks (header, count, transactions) as that test holds them.
#: Height 501,728 (2017-12-30), one transaction: an empty AntPool block.
BLOCK_501728 = (
    "000000206132593e6423e7c9a98936a698780c5081c16c72f1288b000000000000000000919f163a390470cea492699b1724498ce80f5f37"
    "27bd045f0ec9dc5da4a536d2488f475a459600188f98e13a01010000000001010000000000000000000000000000000000000000000000000"
    "000000000000000ffffffff2403e0a707174d696e656420627920416e74506f6f6c6e06205a478f47b1080000433c8ee3ffffffff02807c8"
    "14a000000001976a914eb181d60731cc7521db83a8f93beba8da692a22988ac0000000000000000266a24aa21a9ede2f61c3f71d1defd3fa"
    "999dfa36953755c690689799962b48bebd836974e8cf90120000000000000000000000000000000000000000000000000000000000000000"
    "000000000"
)
#: Height 501,726 (2017-12-30): a block whose coinbase pays nothing (one OP_RETURN output).
BLOCK_501726 = (
    "00000020bb26f9994bd6d4d51f95c90fe9ae7c0b4fd6d2b882532b0000000000000000008211922c4f11084ef2e9cc4d858ad0f4e1a911ae"
    "1740e5a1bf3b823a3b85f89bb88c475a45960018dd9722970101000000010000000000000000000000000000000000000000000000000000"
    "000000000000ffffffff1203dea707055a478cb801b80100006ea50000ffffffff0100000000000000002952534b424c4f434b3addbf517a"
    "df8ffd4bca7751505b39c9013a0d1fd479fc4e901b39dd57b347c62400000000"
)
#: Height 334,720 (2014-12-17): F2Pool, its tag in UTF-8 (七彩神仙鱼).
BLOCK_334720 = (
    "02000000c65a467c95b9bef6c9021193cd974efbd68202021006a51900000000000000000d48586b5e290296f0ef7024f305b9b3a5c1cf24"
    "fb902f27ea0335088ef53b8498be91547cdd1b183e1612960101000000010000000000000000000000000000000000000000000000000000"
    "000000000000ffffffff5603801b05e4b883e5bda9e7a59ee4bb99e9b1bcfabe6d6d1826d7955e515df6d4587632a80d1fc2bb8c965dc0d9"
    "f4417fefb7c328d0bcd6100000000000000000dde1bec70100004d696e6564206279207a6470777370ffffffff0100f90295000000001976"
    "a914c825a1ecf2a6830c4401620c3a16f1995057c2ab88ac00000000"
)
BLOCK_334720_HASH = "00000000000000000429a0c4fbe735b2d8b493daedf0207728543f748c262437"

# -- btclib 2023.5.30 (PyPI sdist), tests/block/_data/block_481824.bin ---------------------------------
# The first block of period 239 (the SegWit activation block); its coinbase (serialised without
# witness), the block's header and the coinbase's merkle branch, taken from the whole block.
HEADER_481824 = (
    "02000020801b81629334be8e7af5ebfb9df09c18e1f833b5f0efcb00000000000000000040d1ca077fefe7fb797711baa0c063eca9b8ed94"
    "69ae0128982b44ad0c25386491329e59e93c011822ff5422"
)
COINBASE_481824 = (
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff6403205a07f4d3f9da09acf878c2c9"
    "c96c410d69758f0eae0e479184e0564589052e832c42899c867100010000000000000000db9901006052ce25d80acfde2f425443432f2053"
    "7570706f7274202f4e59412f00000000000000000000000000000000000000000000025d322c57000000001976a9142c30a6aaac6d966872"
    "91475d7d52f4b469f665a688ac0000000000000000266a24aa21a9ed6c3c4dff76b5760d58694147264d208689ee07823e5694c4872f856e"
    "acf5a5d800000000"
)
BRANCH_481824 = (
    "b631853e72d0ebf988c1736eda90a49abe81415d3ff7b8c6081379bff1b6bfc251331deab211ff6c3ddf70ba68c5d0bafc20b4c2f0fec52c"
    "25c62b889a562b3958148aab31f8396315d4d1e1c17546b72a9be62b8a602e92bcdd92827d6fec9af833e1d4cc02b22ababa77fbf5fef554"
    "1d7cc77315133a20374012cee765530141cde61d96d0fb1c5c89cd65a3a475fad12a5534e3421114146ed944330a31af2d90247af00972fd"
    "f2675bde5b378b8465f78ea760612849ae4b41242eb21228cc82d2561ba9b0e04c8d77357651e1eb294838761f97a139771c6c35694fdad0"
    "bfa9ef8aa5a017ca024203cae6fb36ba3da0f2f1dcec144d372dde345988fa0cf52d418e214e38036185096041f8c173348581d018905686"
    "4f28cf5dc9f33266360836d748dfd650efc593e5d0556680ff42c05cb36220ba7f39ca3a0fb8c8b354858c6d4d6290ac5c1c67772a455e2d"
    "266027be0b9b7cf44b8104fd96225366"
)

# -- bob-collective/bob, test/WitnessTx.t.sol (test_ValidateWitnessProof) -------------------------------
# An SPV proof from block 779,832 (2023-03-08): its header, the coinbase (version, inputs,
# outputs, lock time: serialised without witness) and the coinbase's merkle branch.
HEADER_779832 = (
    "00805d2b0952221f3dcd1e4f9053ea87b238327d99813a8879f00300000000000000000001c6691023f17fd78f2dffc85d9db21b84eb6e77"
    "352f494f9437168820dbfb901f0c0864a38906173a54d852"
)
COINBASE_779832 = (
    "02000000"
    "010000000000000000000000000000000000000000000000000000000000000000ffffffff310338e60b04200c08642f466f756e64727920"
    "55534120506f6f6c202364726f70676f6c642f13367b361659010000000000ffffffff"
    "020593cb260000000016001435f6de260c9f3bdee47524c473a6016c0c055cb90000000000000000266a24aa21a9edaf8dcb9588f94a3adb"
    "462e80f1306d96ef6ffad72160b33cd5e90045d81e0d77"
    "00000000"
)
BRANCH_779832 = (
    "44b53cd654829638a7e1e4681b5d05c2049d1e5f936d159e6c4fca704d3c035127b84e765049e0211073bb8c8aa3df37266cc299a196e78b"
    "1a6883c82d7f7f0df32ba0fe04ea9e33eb2bbb1c4fffa4cd02a1af9e4d5f634530704f10dc88bf900eed8b1fb030e0c49316facf0ba1d98f"
    "b8979ed899d045192419801453448eaff73bc4f56d8ab7eb379732e4db73a33f2ad9b2ca35aba5fd45ea76aa843edac88292b730b6c07a43"
    "96fcb2995e41db66f176f5de25a18f52aeb7c27706c6c7288300c854a83dbb34ae626c3e8a127367c12150c0eac8ee7c436dbc1e0673ba3c"
    "7e4a4a552cc6df73919d28e5144e2b8f03a8b53a59fba1136f7f3bb278b1e1c1f9c380b9a9b0278d88b10289a8d14aca3152883256923cf1"
    "63fd20ac13dfcb858979a263152d6c234ad0f4b70f697168502d62ead0c0194bcf77321a85a1e127afc4477dcc3c3636a7818601d9ff43f8"
    "37b15ef74d387c688fc0a45b79aec0b6"
)

# -- worldwideward/moneroj, app/charts/api/bitcoin_utils_test.py (BLOCK_DATA) --------------------------------
# A block explorer's recorded answer for block 905,349 (2025-07-13): the coinbase as Bitcoin
# Core's RPC writes a transaction (vin[].coinbase, vout[].scriptPubKey.{hex,address}, hex), the
# shape of getblock <hash> 2's tx[0]. Foundry USA paying a P2WSH address.
GETBLOCK_905349_TX0 = {
    "txid": "d4fae09b14d12f937409e683eea22ae02935d90c4aee5fafb5a49f12db5e2783",
    "hash": "dd44f2df2bb61ad7a5d738a61b78908be57d47f44acad9fcda5256c4168e7a43",
    "version": 2,
    "locktime": 0,
    "vin": [
        {
            "coinbase": "0385d00d04a38873682f466f756e6472792055534120506f6f6c202364726f70676f6c642ffabe6d6dedd795db50"
            "40d2790083bb4cc320a97b0b7c0b086a2817425d7707d2de60028201000000000000005f3115a77fcd010000000000",
            "txinwitness": ["0000000000000000000000000000000000000000000000000000000000000000"],
            "sequence": 4294967295,
        }
    ],
    "vout": [
        {
            "value": 3.1432233,
            "n": 0,
            "scriptPubKey": {
                "hex": "00207086320071974eef5e72eaa01dd9096e10c0383483855ea6b344259c244f73c2",
                "address": "bc1qwzrryqr3ja8w7hnja2spmkgfdcgvqwp5swz4af4ngsjecfz0w0pqud7k38",
                "type": "witness_v0_scripthash",
            },
        },
        {
            "value": 0,
            "n": 1,
            "scriptPubKey": {
                "hex": "6a24aa21a9edf468d820cff9a30dbc0318aaf85c1b0f67db1ec01d1dc741ce3395c0e00f6a56",
                "type": "nulldata",
            },
        },
        {
            "value": 0,
            "n": 2,
            "scriptPubKey": {
                "hex": "6a2d434f5245012e50087fb834747606ed01ad67ad0f32129ab431e6d18fda214e5b9f350ffc7b6cf3058b9026e765",
                "type": "nulldata",
            },
        },
        {
            "value": 0,
            "n": 3,
            "scriptPubKey": {
                "hex": "6a2952534b424c4f434b3a79dbca11a0a7915d44e7813bb7c426524cc7006f248da5b173129b1500769986",
                "type": "nulldata",
            },
        },
    ],
    "hex": "020000000001010000000000000000000000000000000000000000000000000000000000000000ffffffff5d0385d00d04a3887368"
    "2f466f756e6472792055534120506f6f6c202364726f70676f6c642ffabe6d6dedd795db5040d2790083bb4cc320a97b0b7c0b086a28"
    "17425d7707d2de60028201000000000000005f3115a77fcd010000000000ffffffff049a2dbc12000000002200207086320071974eef5e"
    "72eaa01dd9096e10c0383483855ea6b344259c244f73c20000000000000000266a24aa21a9edf468d820cff9a30dbc0318aaf85c1b0f67"
    "db1ec01d1dc741ce3395c0e00f6a5600000000000000002f6a2d434f5245012e50087fb834747606ed01ad67ad0f32129ab431e6d18fda"
    "214e5b9f350ffc7b6cf3058b9026e76500000000000000002b6a2952534b424c4f434b3a79dbca11a0a7915d44e7813bb7c426524cc700"
    "6f248da5b173129b15007699860120000000000000000000000000000000000000000000000000000000000000000000000000",
}
HASH_905349 = "00000000000000000001c45d9686bc4a33871e0cdaec02a2cc9ba26d908f7637"

# -- a mempool.space websocket ``block`` message for 810,613 (2023-10-04), recorded in a public
#    ESP32 block-clock sketch found by code search; its header hashes to its id (tested) -------------
MEMPOOL_BLOCK_810613 = {
    "id": "00000000000000000003390f9da5e76dba42f8b3f147bcfdfc8092b4ba8007ac",
    "height": 810613,
    "timestamp": 1696424982,
    "tx_count": 2064,
    "extras": {
        "coinbaseRaw": "03755e0c0416641d652f466f756e6472792055534120506f6f6c202364726f70676f6c642f0d01c0361f01000000"
        "000000",
        "coinbaseAddress": "bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj",
        "header": "00e0a3260deed20bce9906cbb62b82e3226b8adef146fbbf83af00000000000000000000f18e9d9e5cfc8715c3196d791e40"
        "e2fb7c4c208eca4b8a0f00fae84a6b204d2f16641d650fe9041724470866",
        "pool": {"id": 111, "name": "Foundry USA", "slug": "foundryusa"},
    },
}


def coinbases() -> list[object]:
    """Every fixture coinbase with its height and block hash (proven in test_pools_coinbase.py)."""
    from hashlens.sources.addresses import sha256d
    from hashlens.sources.coinbase import coinbase_from_block, coinbase_from_getblock, coinbase_from_tx

    return [
        coinbase_from_block(bytes.fromhex(BLOCK_334720)),
        coinbase_from_tx(COINBASE_481824, block_hash=sha256d(bytes.fromhex(HEADER_481824))[::-1].hex()),
        coinbase_from_block(bytes.fromhex(BLOCK_501726)),
        coinbase_from_block(bytes.fromhex(BLOCK_501728)),
        coinbase_from_tx(COINBASE_779832, block_hash=sha256d(bytes.fromhex(HEADER_779832))[::-1].hex()),
        coinbase_from_getblock({"hash": HASH_905349, "height": 905349, "tx": [GETBLOCK_905349_TX0]}),
    ]

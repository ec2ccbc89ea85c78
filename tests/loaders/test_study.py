"""agora.loaders.study: the study's source files in, Agora anchors and personas out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agora.sim.errors import AgoraError
from agora.sim.schema import AnchorFile, Persona, Spec
from agora.loaders.study import (
    SourceError,
    dump_anchors,
    dump_personas,
    load_amazon_products,
    load_candidates_csv,
    load_cnn_dailymail,
    load_prodigy_personas,
    split_for,
)

# --- Amazon-Reviews-2023 item metadata ----------------------------------------------------

CABLE = [  # 508 characters once joined with "\n-"
    "The Voltaic braided USB-C to USB-C cable charges laptops, tablets and phones at up to 100 W and moves data at 480 Mbps.",
    "Its nylon jacket and aluminium connector housings survived more than 20,000 bend tests in our lab, so it keeps "
    "working after years of being coiled in a backpack.",
    "At 6.6 feet it reaches a sofa from a wall outlet, and a reusable silicone strap keeps it tidy in a bag.",
    "It works with MacBook Pro, iPad Pro, Pixel, Galaxy and Nintendo Switch, and an 18-month replacement warranty covers it.",
]
SPEAKER = [  # 555 characters
    "Tunebox Go is a pocket Bluetooth 5.3 speaker with a 40 mm driver and a passive radiator that gives small rooms a "
    "fuller bass than its size suggests.",
    "The 2,600 mAh battery plays for up to 14 hours at half volume and recharges over USB-C in about 3 hours.",
    "An IPX7 rating means it can sit in the rain or fall into a pool and keep playing once it has dried off.",
    "Pair two units for stereo sound, take calls with the built-in microphone, and clip it to a bag with the included carabiner strap.",
    "In the box: the speaker, a USB-C cable and a quick-start guide.",
]
LAMP = [  # 529 characters
    "This dimmable LED desk lamp has 5 colour temperatures from warm 2700 K to daylight 6500 K and 7 brightness "
    "levels, all set from a touch panel on the base.",
    "The arm folds and the head rotates 180 degrees, so light lands on the page rather than in your eyes.",
    "A USB-A port in the base charges a phone while you work, and a 60-minute auto-off timer saves power when you "
    "fall asleep over a book.",
    "The flicker-free panel draws 12 W and is rated for 50,000 hours of use, and the weighted base keeps the lamp "
    "steady on a cluttered desk.",
]
CATEGORIES = ["Electronics", "Computers & Accessories", "Computer Accessories & Peripherals", "Cables"]


def meta(asin: str, title: str | None, description: list[str], categories: list[str], **fields) -> dict:
    """One metadata row with every field the 2023 export carries."""
    row = {
        "main_category": "All Electronics",
        "title": title,
        "average_rating": 4.4,
        "rating_number": 1873,
        "features": ["USB-C", "Fast charging"],
        "description": description,
        "price": None,
        "images": [{"thumb": "https://m.media-amazon.com/images/I/41a.jpg", "large": "https://m.media-amazon.com/images/I/61a.jpg",
                    "variant": "MAIN", "hi_res": None}],
        "videos": [],
        "store": "Voltaic",
        "categories": categories,
        "details": {"Brand": "Voltaic"},
        "parent_asin": asin,
        "bought_together": None,
    }
    return row | fields


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def meta_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "meta_Electronics.jsonl", [
        meta("B07CABLE01", "Voltaic USB-C to USB-C Cable 6.6 ft, 100W Braided", CABLE, CATEGORIES, price="$19.99",
             features=["100W Power Delivery", "480 Mbps data", "Braided nylon"],
             details={"Brand": "Voltaic", "Material": "Nylon, Aluminum", "Item Weight": "1.6 ounces",
                      "Product Dimensions": "6.6 x 0.2 x 0.2 inches", "Date First Available": "March 3, 2021",
                      "Best Sellers Rank": {"Electronics": 1520}}),
        meta("B0NOTITLE4", None, CABLE, CATEGORIES),
        meta("B08SPEAK02", "Tunebox Go Portable Bluetooth Speaker, IPX7", SPEAKER,
             ["Electronics", "Portable Audio & Video", "Portable Speakers & Docks", "Portable Bluetooth Speakers"],
             price=34.5, details={"Item Weight": "8.8 ounces", "Battery Capacity": "2,600 mAh", "Brand": "Tunebox"}),
        meta("B0NODESC05", "Voltaic Wall Charger 65W", [], CATEGORIES, price=29.99),
        "",
        meta("B09LAMP003", "Lumora LED Desk Lamp with USB Charging Port", LAMP,
             ["Tools & Home Improvement", "Lighting & Ceiling Fans", "Lamps & Shades", "Desk Lamps"], price="None"),
        meta("B0NOCATS06", "Voltaic HDMI Adapter", LAMP, []),
        meta("B0SHORT007", "3-Port USB Charger", ["Compact 3-port USB charger with a foldable plug."], CATEGORIES),
        meta("B0LONG0008", "Voltaic Travel Kit", CABLE + SPEAKER, CATEGORIES),
    ])


def test_amazon_keeps_the_study_rows_and_counts_the_rest(meta_file: Path):
    loaded = load_amazon_products(meta_file)
    assert [p.id for p in loaded.items] == ["b07cable01", "b08speak02", "b09lamp003"]
    assert loaded.skipped == {"no title": 1, "no description": 1, "no categories": 1, "description length": 2}
    assert loaded.source == meta_file


def test_amazon_maps_fields(meta_file: Path):
    cable, speaker, lamp = load_amazon_products(meta_file).items
    assert cable.name == "Voltaic USB-C to USB-C Cable 6.6 ft, 100W Braided"
    assert cable.category == "Cables"
    assert cable.price == 19.99
    assert speaker.price == 34.5
    assert lamp.price is None
    assert cable.description == "\n-".join(CABLE)
    assert "at 480 Mbps.\n-Its nylon jacket" in cable.description
    assert cable.features == ["100W Power Delivery", "480 Mbps data", "Braided nylon"]
    assert cable.materials == ["Nylon", "Aluminum"]
    assert speaker.materials == []
    assert cable.specs == [Spec(name="item weight", value=1.6, unit="ounces")]
    assert speaker.specs == [
        Spec(name="item weight", value=8.8, unit="ounces"),
        Spec(name="battery capacity", value=2600.0, unit="mAh"),
    ]
    assert lamp.specs == [] and lamp.limitations == []


def test_amazon_length_bounds_are_inclusive(meta_file: Path):
    speaker = len("\n-".join(SPEAKER))
    assert [p.id for p in load_amazon_products(meta_file, min_chars=speaker, max_chars=speaker).items] == ["b08speak02"]


def test_amazon_limit_stops_reading(meta_file: Path):
    loaded = load_amazon_products(meta_file, limit=2)
    assert [p.id for p in loaded.items] == ["b07cable01", "b08speak02"]
    assert loaded.skipped == {"no title": 1}
    with meta_file.open("a") as f:
        f.write("{not json\n")
    with pytest.raises(SourceError, match="line 10: not valid JSON"):
        load_amazon_products(meta_file)
    assert len(load_amazon_products(meta_file, limit=3).items) == 3


def test_amazon_repeated_parent_asin_is_skipped(meta_file: Path):
    with meta_file.open("a") as f:
        f.write(json.dumps(meta("B07CABLE01", "Voltaic USB-C Cable (2-pack)", SPEAKER, CATEGORIES)) + "\n")
    loaded = load_amazon_products(meta_file)
    assert [p.name for p in loaded.items if p.id == "b07cable01"] == ["Voltaic USB-C to USB-C Cable 6.6 ft, 100W Braided"]
    assert loaded.skipped["duplicate id"] == 1


def test_amazon_errors_name_line_and_field(tmp_path: Path):
    good = meta("B07CABLE01", "Voltaic USB-C Cable", CABLE, CATEGORIES)
    path = write_jsonl(tmp_path / "meta.jsonl", [good, good, '{"title": "USB hub" "parent_asin": "B0HUB"}'])
    with pytest.raises(SourceError, match=r"meta\.jsonl line 3: not valid JSON \(Expecting ',' delimiter at column 21\)$"):
        load_amazon_products(path)

    write_jsonl(path, [good, meta("B0HUB00002", 42, CABLE, CATEGORIES)])
    with pytest.raises(SourceError) as err:
        load_amazon_products(path)
    assert str(err.value) == f"{path} line 2: field 'title': expected a string, got 42"

    write_jsonl(path, [meta("B0HUB00002", "USB hub", CABLE, CATEGORIES, features=["4 ports", 3])])
    with pytest.raises(SourceError, match=r"line 1: field 'features': expected a list of strings, got \['4 ports', 3\]"):
        load_amazon_products(path)

    write_jsonl(path, [meta("B0HUB00002", "USB hub", CABLE, CATEGORIES, price={"amount": 19.99})])
    with pytest.raises(SourceError, match=r"line 1: field 'price': expected a number or a string"):
        load_amazon_products(path)

    write_jsonl(path, [{k: v for k, v in good.items() if k != "parent_asin"}])
    with pytest.raises(SourceError, match=r"line 1: field 'parent_asin': missing"):
        load_amazon_products(path)

    write_jsonl(path, ["[1, 2]"])
    with pytest.raises(SourceError, match=r"line 1: expected a JSON object, got list"):
        load_amazon_products(path)

    path.write_bytes(json.dumps(good).encode() + b"\n\xff\xfe\n")
    with pytest.raises(SourceError, match=r"line 2: not UTF-8 text"):
        load_amazon_products(path)


def test_amazon_model_errors_become_source_errors(tmp_path: Path):
    path = write_jsonl(tmp_path / "meta.jsonl", [meta("B0HUB00002", "USB hub", ["Four ports."], CATEGORIES)])
    with pytest.raises(SourceError, match=r"line 1: Product field 'description': String should have at least 40"):
        load_amazon_products(path, min_chars=0)


# --- biographical narratives CSV -------------------------------------------------------------

DELGADO = (
    "Maria Delgado has served on the Tucson City Council since 2015, representing Ward 3. "
    "She grew up in a family of farmworkers in the Santa Cruz valley and was the first in her family to finish college. "
    "Before entering politics she taught middle-school science for 12 years at Pueblo Magnet School. "
    "On the council she secured $4.2 million to repair roads and sidewalks on the south side and led the effort to open "
    "two new branch libraries. "
    "She chairs the council's water committee, where she pushed through a plan to cut municipal water use by 15 percent. "
    "Delgado says she is running for the state senate to bring the same practical, neighbourhood-first approach to Phoenix. "
    "She lives in Barrio Hollywood with her husband and their two sons."
)  # 127 words
OBRIEN = (
    "Thomas J. O'Brien is a small-business owner and veteran from Scranton, Pennsylvania. "
    "He served 8 years in the U.S. Army, including two deployments, before coming home to take over his father's hardware store. "
    "Under his management the store has grown from 6 employees to 31 and opened a second location in Dunmore. "
    "O'Brien has served on the Lackawanna County Chamber of Commerce board and coached youth baseball for more than a decade. "
    "He is running for Congress because he believes families and small employers deserve lower taxes, safer streets and "
    "a government that answers their calls. "
    "He and his wife, Karen, have three children."
)  # 104 words
FOURNIER = (
    "Renée Fournier is an environmental engineer and the co-founder of a watershed restoration nonprofit in Burlington, Vermont. "
    "Over the past decade her organisation has replanted 40 miles of stream banks along the Winooski River and trained "
    "hundreds of volunteers to monitor water quality. "
    "She holds a master's degree in civil engineering from the University of Vermont and worked for the state's Agency of "
    "Natural Resources before starting the nonprofit. "
    "Fournier is running for the state house because she wants clean water, affordable housing and local farms to be "
    "treated as one connected problem rather than three separate ones. "
    "She lives in the Old North End with her partner and their dog."
)  # 111 words
OKAFOR = (
    "Samuel Okafor is a nurse practitioner at a community clinic in Columbus, Ohio, where he has cared for uninsured "
    "patients for 9 years. He grew up in the city's Linden neighbourhood and studied nursing at Ohio State University. "
    "At the clinic he started a mobile blood-pressure screening programme that has visited churches, barbershops and "
    "markets across the east side. He is running for the school board because he has seen how hunger and untreated "
    "illness keep children from learning, and he wants schools to work with clinics to catch problems early."
)  # 91 words
HARGROVE = (
    "Linda Hargrove has spent 25 years as a county prosecutor and later as a judge in rural Kentucky. "
    "She has written about court delays, rural broadband and the opioid crisis, and she has taught evening classes in "
    "civics at the local community college. "
) * 9  # 387 words
PARK = (
    "Kevin Park is a software developer from Fresno who believes government should do less and do it better. "
    "He is running for city council."
)


@pytest.fixture
def bios_file(tmp_path: Path) -> Path:
    path = tmp_path / "bios.csv"
    pd.DataFrame({
        "candidate_webname": ["Maria Delgado", "Thomas J. O'Brien", "Kevin Park", "Linda Hargrove", "Samuel Okafor", "",
                              "Renée Fournier"],
        "cand_party": ["Democratic Party", "Republican Party", "Libertarian Party", "Independent", None, "Green Party",
                       "Green Party"],
        "biography_text": [DELGADO, OBRIEN, PARK, HARGROVE, OKAFOR, FOURNIER, FOURNIER],
    }).to_csv(path)  # with the index column, as the study's file has it
    return path


def test_candidates_keep_the_study_rows_and_count_the_rest(bios_file: Path):
    loaded = load_candidates_csv(bios_file)
    assert [c.id for c in loaded.items] == ["maria-delgado-0", "thomas-j-o-brien-1", "renee-fournier-6"]
    assert loaded.skipped == {"biography length": 2, "no party": 1, "no name": 1}


def test_candidates_map_fields(bios_file: Path):
    delgado, obrien, fournier = load_candidates_csv(bios_file).items
    assert (delgado.name, delgado.party, delgado.biography) == ("Maria Delgado", "Democratic Party", DELGADO.strip())
    assert delgado.record == [
        "Maria Delgado has served on the Tucson City Council since 2015, representing Ward 3.",
        "Before entering politics she taught middle-school science for 12 years at Pueblo Magnet School.",
        "On the council she secured $4.2 million to repair roads and sidewalks on the south side and led the effort to "
        "open two new branch libraries.",
        "She chairs the council's water committee, where she pushed through a plan to cut municipal water use by 15 percent.",
    ]
    assert obrien.record[0] == (
        "He served 8 years in the U.S. Army, including two deployments, before coming home to take over his father's hardware store."
    )
    assert fournier.name == "Renée Fournier"
    assert (fournier.office, fournier.hometown, fournier.occupation, fournier.positions) == (None, None, None, [])


def test_candidate_word_bounds(bios_file: Path):
    assert "maria-delgado-0" not in [c.id for c in load_candidates_csv(bios_file, max_words=127).items]
    assert [c.id for c in load_candidates_csv(bios_file, min_words=127, max_words=128).items] == ["maria-delgado-0"]


def test_candidates_csv_missing_column(tmp_path: Path):
    path = tmp_path / "bios.csv"
    pd.DataFrame({"candidate_webname": ["Maria Delgado"], "cand_party": ["Democratic Party"], "bio": [DELGADO]}).to_csv(path)
    with pytest.raises(SourceError) as err:
        load_candidates_csv(path)
    assert str(err.value) == (
        f"{path}: missing column 'biography_text' (found: 'Unnamed: 0', 'candidate_webname', 'cand_party', 'bio')"
    )


def test_candidates_csv_that_is_empty(tmp_path: Path):
    (path := tmp_path / "bios.csv").write_text("")
    with pytest.raises(SourceError, match="not a readable CSV"):
        load_candidates_csv(path)


# --- CNN/DailyMail 3.0.0 ---------------------------------------------------------------------

FIRE = (
    "HOUSTON, Texas (CNN) -- A chemical fire at a warehouse in east Houston forced about 1,200 residents from their "
    "homes on Tuesday, officials said. The blaze broke out shortly after 6 a.m. at a storage facility used by a "
    "pool-supply distributor, sending a plume of dark smoke over the Ship Channel. Fire Chief Samuel Pena said crews "
    "were letting some of the stored chlorine tablets burn off because spraying them with water could release more "
    "toxic gas. No injuries were reported. The Harris County Office of Emergency Management told people within 2 miles "
    "of the site to stay indoors, close windows and turn off air conditioning until further notice. Air monitors set up "
    "downwind had not detected dangerous levels by midday, the county said. Classes at three nearby schools were "
    "cancelled. The cause of the fire is under investigation."
)  # 139 words
FLOOD = (
    "LONDON, England (CNN) -- Heavy rain flooded roads and railway lines across southern England on Sunday, stranding "
    "drivers and cancelling hundreds of trains. The Environment Agency issued 48 flood warnings, meaning flooding is "
    "expected, and urged people not to drive through floodwater, saying just 30 centimetres of moving water can float "
    "a car. Firefighters in Kent rescued a family of four from the roof of their car on a flooded country lane. Network "
    "Rail said lines between London and Brighton would stay closed until at least Monday morning. Forecasters said "
    "another band of rain would arrive overnight, with up to 40 millimetres expected on high ground. Residents in "
    "low-lying areas were told to move valuables upstairs and to keep a phone charged."
)  # 122 words
RECALL = (
    "(CNN) -- A popular brand of infant formula is being recalled after tests found traces of bacteria at the plant "
    "where it is made, the U.S. Food and Drug Administration said Friday. The recall covers about 300,000 cans sold in "
    "14 states. The agency said parents should check the lot number on the bottom of each can and stop using any that "
    "match the list on its website. No illnesses have been confirmed, but the FDA said infants who have been fed the "
    "formula and develop fever, poor feeding or unusual sleepiness should see a doctor at once. The manufacturer said "
    "it had shut the production line and was offering full refunds at the store of purchase."
)  # 117 words
QUAKE = (
    "(CNN) -- A magnitude 4.1 earthquake shook parts of southern California early Wednesday, the U.S. Geological Survey "
    "said. The quake was centred near Barstow. There were no immediate reports of damage or injuries, police said."
)  # 35 words
FIRE_ID = "5c3e9a1f2b7d4e8a0c6f1b3d5e7a9c2f4b6d8e0a"
FLOOD_ID = "0b8f2d4c6a1e3f5b7d9c2a4e6f8b0d1c3e5a7f9b"
RECALL_ID = "e7a1c3b5d9f2e4a6c8b0d2f4a6c8e1b3d5f7a9c0"


def write_parquet(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def story(id: str, article: str, highlights: list[str]) -> dict:
    return {"article": article, "highlights": "\n".join(highlights), "id": id}


@pytest.fixture
def cnn_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cnn_dailymail" / "3.0.0"
    folder.mkdir(parents=True)
    write_parquet(folder / "train-00000-of-00001.parquet", [
        story(FIRE_ID, FIRE, ["Chemical fire at Houston warehouse forces about 1,200 residents from their homes .",
                              "No injuries reported; crews let chlorine tablets burn off .",
                              "People within 2 miles told to stay indoors and close windows ."]),
        story("9d1f3b5a7c2e4d6f8a0b1c3e5d7f9a2b4c6e8d0f", QUAKE, ["Magnitude 4.1 quake near Barstow, California ."]),
        story("4a6c8e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c", RECALL, []),
    ])
    write_parquet(folder / "validation-00000-of-00001.parquet", [
        story(FLOOD_ID, FLOOD, ["Heavy rain floods roads and railways across southern England .",
                                "Environment Agency issues 48 flood warnings ."]),
        story("2c4e6a8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c", FIRE + " " + FLOOD, ["Storms and fires: the day's news ."]),
    ])
    write_parquet(folder / "test-00000-of-00001.parquet", [
        story(RECALL_ID, RECALL, ["Infant formula recalled over bacteria at plant .", "About 300,000 cans in 14 states .",
                                  "Parents told to check lot numbers ."]),
    ])
    write_parquet(folder / "extra-00000-of-00001.parquet", [story("f" * 40, FLOOD, ["Not one of the dataset's shards ."])])
    (folder / "README.md").write_text("CNN/DailyMail 3.0.0\n")
    return folder


def test_cnn_folder_keeps_the_study_rows_from_every_shard(cnn_dir: Path):
    loaded = load_cnn_dailymail(cnn_dir)
    assert [e.id for e in loaded.items] == [FIRE_ID, FLOOD_ID, RECALL_ID]
    assert loaded.skipped == {"article length": 2, "no highlights": 1}
    assert loaded.source == cnn_dir


def test_cnn_maps_fields(cnn_dir: Path):
    fire = load_cnn_dailymail(cnn_dir).items[0]
    assert fire.headline == "Chemical fire at Houston warehouse forces about 1,200 residents from their homes ."
    assert fire.figures == [
        "Chemical fire at Houston warehouse forces about 1,200 residents from their homes .",
        "People within 2 miles told to stay indoors and close windows .",
    ]
    assert fire.article == FIRE
    assert (fire.event, fire.place, fire.date, fire.source, fire.hazard, fire.guidance) == (None, None, None, None, None, [])


def test_cnn_single_file_and_word_bounds(cnn_dir: Path):
    train = cnn_dir / "train-00000-of-00001.parquet"
    assert [e.id for e in load_cnn_dailymail(train).items] == [FIRE_ID]
    assert load_cnn_dailymail(train, max_words=139).items == []
    assert [e.id for e in load_cnn_dailymail(cnn_dir, min_words=139, max_words=140).items] == [FIRE_ID]


def test_cnn_errors(tmp_path: Path):
    path = write_parquet(tmp_path / "train-00000-of-00001.parquet", [{"id": FIRE_ID, "text": FIRE, "highlights": "Fire ."}])
    with pytest.raises(SourceError) as err:
        load_cnn_dailymail(path)
    assert str(err.value) == f"{path}: missing column 'article' (found: 'id', 'text', 'highlights')"

    write_parquet(path, [story(FIRE_ID, FIRE, ["Fire ."]), story(FLOOD_ID, None, ["Flood ."])])
    with pytest.raises(SourceError, match=r"train-00000-of-00001\.parquet row 1: field 'article': missing$"):
        load_cnn_dailymail(tmp_path)

    path.write_text("article,highlights,id\n")
    with pytest.raises(SourceError, match=r"train-00000-of-00001\.parquet: not a readable Parquet file"):
        load_cnn_dailymail(path)

    (empty := tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"empty: no train-\*\.parquet, validation-\*\.parquet, test-\*\.parquet files"):
        load_cnn_dailymail(empty)


# --- PRODIGy personas ------------------------------------------------------------------------

CHARACTERS = [
    {"character_name": "Margaret Ellison", "gender": "female", "mbti": "introvert, sensor, feeler, judger",
     "biography": ["I am a retired school librarian from Duluth.", "I knit for my grandchildren and volunteer at the food shelf.",
                   "I read every label before I buy anything."]},
    {"character_name": "Dev Raman", "gender": "male", "mbti": "extravert, intuitive, thinker, perceiver",
     "biography": ["I run a small design studio in Austin.", "I love trying new gadgets the week they come out.",
                   "Friends call me when they need someone to argue the other side."]},
    {"character_name": "Ana Lúcia Costa", "gender": "female", "mbti": "judger, thinker, sensor, extravert",
     "biography": ["I am a nurse manager on a busy surgical ward in Newark.", "I have no patience for vague promises."]},
]


def test_prodigy_personas(tmp_path: Path):
    (path := tmp_path / "characters.json").write_text(json.dumps(CHARACTERS), encoding="utf-8")
    loaded = load_prodigy_personas(path)
    assert [(p.id, p.mbti) for p in loaded.items] == [
        ("margaret-ellison", "ISFJ"), ("dev-raman", "ENTP"), ("ana-lucia-costa", "ESTJ"),
    ]
    margaret = loaded.items[0]
    assert margaret.biography == (
        "I am a retired school librarian from Duluth. I knit for my grandchildren and volunteer at the food shelf. "
        "I read every label before I buy anything."
    )
    assert (margaret.name, margaret.gender, margaret.traits) == ("Margaret Ellison", "female", None)
    assert loaded.skipped == {}


def test_prodigy_persona_errors(tmp_path: Path):
    path = tmp_path / "characters.json"
    path.write_text(json.dumps([CHARACTERS[0], CHARACTERS[1] | {"mbti": "extravert, intuitive, thinker"}]))
    with pytest.raises(SourceError, match=r"characters\.json item 1: field 'mbti': expected four preferences"):
        load_prodigy_personas(path)

    path.write_text(json.dumps({"characters": CHARACTERS}))
    with pytest.raises(SourceError, match=r"characters\.json: expected a JSON list of characters, got dict"):
        load_prodigy_personas(path)

    path.write_text(json.dumps([CHARACTERS[0] | {"biography": "I am a retired school librarian from Duluth."}]))
    with pytest.raises(SourceError, match=r"item 0: field 'biography': expected a list of strings"):
        load_prodigy_personas(path)


# --- errors shared by all loaders ----------------------------------------------------------------


@pytest.mark.parametrize("load", [load_amazon_products, load_candidates_csv, load_cnn_dailymail, load_prodigy_personas])
def test_missing_file_says_so_with_the_path(tmp_path: Path, load):
    path = tmp_path / "nowhere" / "data.jsonl"
    with pytest.raises(SourceError) as err:
        load(path)
    assert str(err.value) == f"{path}: no such file"
    assert isinstance(err.value, ValueError) and isinstance(err.value, AgoraError)


# --- split ---------------------------------------------------------------------------------------


def test_split_is_a_fixed_hash_of_the_id():
    # Python's hash() is salted per process; these would not hold from one run to the next.
    ids = ["b07cable01", "b08speak02", "b09lamp003", "maria-delgado-0", "renee-fournier-6", FIRE_ID, FLOOD_ID,
           RECALL_ID, "helen-marsh", "dev-raman"]
    assert [split_for(i, 0.5) for i in ids] == [
        "test", "test", "train", "test", "test", "test", "test", "test", "test", "train",
    ]


def test_split_fraction():
    ids = [f"anchor-{n}" for n in range(400)]
    test_03 = {i for i in ids if split_for(i, 0.3) == "test"}
    test_07 = {i for i in ids if split_for(i, 0.7) == "test"}
    assert test_03 < test_07
    assert 0.2 < len(test_03) / 400 < 0.4 and 0.6 < len(test_07) / 400 < 0.8
    assert {split_for(i, 0.0) for i in ids} == {"train"} and {split_for(i, 1.0) for i in ids} == {"test"}
    with pytest.raises(ValueError, match="test_fraction"):
        split_for("b07cable01", 1.5)


def test_loaders_split_by_id(meta_file: Path, bios_file: Path):
    for item in load_amazon_products(meta_file).items + load_candidates_csv(bios_file, test_fraction=0.3).items:
        assert item.split == split_for(item.id, 0.5 if item.kind == "product" else 0.3)
    assert {p.split for p in load_amazon_products(meta_file, test_fraction=1.0).items} == {"test"}
    assert {c.split for c in load_candidates_csv(bios_file, test_fraction=0.0).items} == {"train"}


# --- dump and reload -----------------------------------------------------------------------------


def test_anchor_file_round_trip(tmp_path: Path, meta_file: Path, bios_file: Path, cnn_dir: Path):
    products = load_amazon_products(meta_file).items
    candidates = load_candidates_csv(bios_file).items
    events = load_cnn_dailymail(cnn_dir).items
    path = tmp_path / "anchors.yaml"
    dump_anchors(products, path)
    text = path.read_text(encoding="utf-8")
    assert list(yaml.safe_load(text)) == ["products"]
    assert "kind:" not in text and "null" not in text and "limitations" not in text
    assert AnchorFile.model_validate(yaml.safe_load(text)).products == products

    dump_anchors([*events, *candidates, *products], path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(data) == ["products", "candidates", "events"]
    assert AnchorFile.model_validate(data) == AnchorFile(products=products, candidates=candidates, events=events)


def test_dump_anchors_rejects_a_persona(tmp_path: Path):
    persona = Persona(id="dev-raman", name="Dev Raman", biography="I run a small design studio in Austin, Texas.")
    with pytest.raises(TypeError, match="not an anchor: Persona"):
        dump_anchors([persona], tmp_path / "anchors.yaml")


def test_personas_file_round_trip(tmp_path: Path):
    (source := tmp_path / "characters.json").write_text(json.dumps(CHARACTERS), encoding="utf-8")
    personas = load_prodigy_personas(source).items
    path = tmp_path / "personas.yaml"
    dump_personas(personas, path)
    text = path.read_text(encoding="utf-8")
    assert "traits" not in text and "Ana Lúcia Costa" in text
    assert [Persona.model_validate(p) for p in yaml.safe_load(text)["personas"]] == personas

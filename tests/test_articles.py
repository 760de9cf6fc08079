"""Reading articles: the seed shape, the other formats, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsrag.articles import read_article_file, read_corpus
from newsrag.errors import ArticleError

from conftest import CORPUS, SEED_A, SEED_B


def test_seed_without_date_line_has_headline_and_no_invented_date():
    [art] = read_article_file(CORPUS / SEED_A)
    assert art.title == "Iran Fires Rockets At US Forces Stationed In Iraq"
    assert art.date is None
    assert not art.title_derived
    assert art.text.startswith("Iranian FAJR-5 rocket system")
    assert "Javad Zarif via Twitter, January 7, 2020" in art.text


def test_seed_with_leading_date_drops_boilerplate():
    [art] = read_article_file(CORPUS / SEED_B)
    assert art.date == "2021-03-08"
    assert art.text.startswith("The United States will do what it deems")
    assert "date 2021" not in art.text
    assert "Read:" not in art.text and "B-52s" not in art.text
    assert "Image: AP" not in art.text
    assert art.text.endswith("Soleimani’s ‘murder’.")
    # No headline line: the title is the lead, marked as derived.
    assert art.title_derived and art.title.startswith("The United States will do")


def test_same_content_same_id(tmp_path: Path):
    (tmp_path / "copy.txt").write_bytes((CORPUS / SEED_A).read_bytes())
    assert read_article_file(tmp_path / "copy.txt")[0].id == read_article_file(CORPUS / SEED_A)[0].id


def test_markdown_front_matter(tmp_path: Path):
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: Rockets hit base\ndate: 2020-01-08\nsource: Example Wire\n"
                 "url: https://example.org/a\nauthor: A. Writer\n---\n\nRockets hit a base. Nobody was hurt.\n\n"
                 "Read: something else\n")
    [art] = read_article_file(f)
    assert (art.title, art.date, art.source, art.url, art.author) == (
        "Rockets hit base", "2020-01-08", "Example Wire", "https://example.org/a", "A. Writer")
    assert art.text == "Rockets hit a base. Nobody was hurt."


def test_json_and_jsonl_records(tmp_path: Path):
    rec = {"title": "T1", "date": "2021-03-01", "text": "One story.", "source": "S"}
    (tmp_path / "one.json").write_text(json.dumps(rec))
    (tmp_path / "many.jsonl").write_text(
        json.dumps({**rec, "title": "T2", "text": "Two."}) + "\n" + json.dumps({"title": "T3", "text": "Three."}) + "\n")
    [one] = read_article_file(tmp_path / "one.json")
    assert (one.title, one.date, one.text, one.source) == ("T1", "2021-03-01", "One story.", "S")
    many = read_article_file(tmp_path / "many.jsonl")
    assert [a.title for a in many] == ["T2", "T3"]
    assert [a.path for a in many] == ["many.jsonl#1", "many.jsonl#2"]
    assert many[1].date is None


def test_html_main_text_extracted(tmp_path: Path):
    body = " ".join(["Rockets struck the Al-Asad airbase in western Iraq late on Tuesday."] * 3)
    (tmp_path / "page.html").write_text(
        "<html><head><title>Base attacked | Wire</title>"
        '<meta property="article:published_time" content="2020-01-08"></head><body>'
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>Base attacked</h1><p>{body}</p><p>Officials said damage was being assessed.</p></article>"
        "<footer>Copyright Wire. All rights reserved.</footer></body></html>")
    [art] = read_article_file(tmp_path / "page.html")
    assert "Al-Asad airbase" in art.text and "damage was being assessed" in art.text
    assert "Home" not in art.text and "Copyright" not in art.text
    assert art.date == "2020-01-08"


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n \t\n", "empty file"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ("latin1.txt", "Caf\xe9 attack\n\nRockets hit the caf\xe9.".encode("latin-1"), "not valid UTF-8"),
    ("scan.pdf", b"%PDF-1.4", "unsupported file type '.pdf'"),
    ("bad.json", b"{not json", "invalid JSON"),
    ("notext.jsonl", b'{"title": "x"}\n', "has no 'text' field"),
])
def test_bad_files_are_rejected_with_name_and_reason(tmp_path: Path, name: str, content: bytes, reason: str):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ArticleError) as err:
        read_article_file(tmp_path / name)
    assert name in str(err.value) and reason in str(err.value)


def test_corpus_skips_bad_files_and_duplicates_and_goes_on(tmp_path: Path):
    for seed in (SEED_A, SEED_B):
        (tmp_path / seed).write_bytes((CORPUS / seed).read_bytes())
    (tmp_path / "zz_copy.md").write_bytes((CORPUS / SEED_A).read_bytes())  # same text, new name
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / ".hidden.txt").write_text("ignored")
    reading = read_corpus(tmp_path)
    assert sorted(a.path for a in reading.articles) == [SEED_A, SEED_B]
    skipped = dict(reading.skipped)
    assert skipped["zz_copy.md"] == f"duplicate of {SEED_A} (same text)"
    assert skipped["empty.txt"] == "empty file"
    assert "unsupported file type '.jpg'" in skipped["image.jpg"]
    assert len(reading.skipped) == 3


def test_unreadable_date_is_a_warning_not_a_guess(tmp_path: Path):
    (tmp_path / "a.md").write_text("---\ntitle: T\ndate: last Tuesday\n---\nSome text here.\n")
    reading = read_corpus(tmp_path)
    assert reading.articles[0].date is None
    assert reading.warnings == [("a.md", "unreadable date 'last Tuesday': article kept as undated")]


# ---- real-world article files (written for these tests in the shape maintainers paste in) ----
REALISTIC = Path(__file__).parent / "data" / "realistic"


def test_wire_copy_with_date_line_first_keeps_headline_and_drops_furniture():
    [art] = read_article_file(REALISTIC / "wire_dateline.txt")
    assert art.date == "2021-02-16"
    assert art.title == "Rockets hit military base near Erbil airport, one contractor killed"
    assert not art.title_derived
    assert art.text.startswith("ERBIL, Iraq (Newswire) — At least three rockets")
    for furniture in ("By Hana Saleh", "Read Next", "Photo by", "Reporting by", "©",
                      "All rights reserved", "Smoke rises"):
        assert furniture not in art.text, furniture
    assert art.text.endswith("cooperate with Baghdad on the investigation.")


@pytest.mark.parametrize("line", ["date: 2021-03-03", "Date: March 3, 2021", "DATE 3 March 2021",
                                  "date 2021-03-03"])
def test_date_line_with_colon_or_written_date_is_the_date_not_the_title(tmp_path: Path, line: str):
    f = tmp_path / "wire.txt"
    f.write_text(f"{line}\n\nRockets hit Iraq's Ain al-Asad air base; contractor dies\n\n"
                 "BAGHDAD (Wire) - Ten rockets struck the base on Wednesday.\n\nMore text here.\n")
    [art] = read_article_file(f)
    assert art.date == "2021-03-03"
    assert art.title == "Rockets hit Iraq's Ain al-Asad air base; contractor dies"
    assert art.text.startswith("BAGHDAD (Wire)")


def test_headline_ending_in_an_abbreviation_is_a_headline():
    [art] = read_article_file(REALISTIC / "headline_abbreviation.txt")
    assert art.title == "Brain injuries from Iranian strike now total 109, says U.S."
    assert not art.title_derived
    assert art.text.startswith("WASHINGTON — The number of American troops")


def test_cms_markdown_is_plain_text_with_tweet_attribution():
    [art] = read_article_file(REALISTIC / "cms_export.md")
    assert art.date == "2020-01-08" and art.author == "R. Amini"
    text = art.text
    assert "measures in self-defence under the UN Charter" in text
    for markup in ("](", "**", "===", "---", "![", "pic.twitter.com", "> ", "Getty", "Read more",
                   "*brief*"):
        assert markup not in text, markup
    # The tweet becomes a quotation with an attribution line, as in the seed articles.
    assert "We do not seek escalation or war.\n\nJavad Zarif via Twitter, January 8, 2020" in text
    assert "What Zarif said\n\n" in text  # a setext subheading stays a line of its own


def test_html_page_date_from_page_chrome_and_paragraphs_kept():
    [art] = read_article_file(REALISTIC / "page_chrome.html")
    assert art.date == "2021-03-03"
    assert art.title == "Pentagon: rockets hit Al-Asad base, contractor dies"
    assert "cookie" not in art.text.lower() and "Privacy policy" not in art.text
    paragraphs = art.text.split("\n\n")
    assert len(paragraphs) >= 4
    assert paragraphs[0].startswith("At least ten rockets struck Ain al-Asad")


def test_jsonl_record_left_empty_by_cleaning_skips_only_itself(tmp_path):
    # SciFact's record 80109277 is a copyright line alone: the other records must still be read.
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"title": "A", "text": "Rockets hit the base on Monday, officials said."})
                    + "\n" + json.dumps({"title": "B", "text": "© 2020 Elsevier Inc. All rights reserved."})
                    + "\n", encoding="utf-8")
    warnings: list[tuple[str, str]] = []
    articles = read_article_file(path, warnings=warnings)
    assert [a.title for a in articles] == ["A"]
    assert warnings and warnings[0][0] == "docs.jsonl#2" and "skipped" in warnings[0][1]


def test_cms_byline_with_posted_date_and_breadcrumbs_are_page_furniture(tmp_path: Path):
    f = tmp_path / "markets.md"
    f.write_text("Oil whipsaws as airlines avoid Gulf skies\n=========================\n\n"
                 "*By Tomasz Wierzbicki, Markets Desk* | Posted Sat, January 11, 2020, 4:15 PM GMT\n\n"
                 "[Markets](https://example.com/m) › [Energy](https://example.com/e) › Aviation\n\n"
                 "Brent crude jumped 4.5 percent before falling back.\n\n"
                 "Airlines rerouted flights around Iraqi airspace.\n", encoding="utf-8")
    [art] = read_article_file(f)
    assert art.date == "2020-01-11" and art.title == "Oil whipsaws as airlines avoid Gulf skies"
    assert art.text.startswith("Brent crude jumped"), art.text
    assert "Posted" not in art.text and "›" not in art.text


def test_a_paragraph_that_opens_with_published_is_no_date_line(tmp_path: Path):
    f = tmp_path / "luther.txt"
    text = ("Published at a time of rising demand for German-language publications on 3 May "
            "1522, Luther's version quickly became popular.")
    f.write_text(f"Luther's Bible\n\n{text}\n\nMore text here.\n", encoding="utf-8")
    [art] = read_article_file(f)
    assert art.date is None and art.text.startswith("Published at a time")


def test_a_credit_line_naming_who_took_the_photo_is_page_furniture(tmp_path: Path):
    f = tmp_path / "tbi.md"
    f.write_text("---\ntitle: Pentagon raises brain injury count\ndate: 2020-02-11\n---\n\n"
                 "![Soldiers at Al Asad](https://example.com/a.jpg)\n\n"
                 "*U.S. Army photo by Spc. Derek Lawson*\n\n"
                 "WASHINGTON — The count has risen to 109, the Pentagon said on Monday.\n\n"
                 "A photo by a soldier at the base showed the damaged hangars.\n", encoding="utf-8")
    [art] = read_article_file(f)
    assert art.text.startswith("WASHINGTON — The count"), art.text
    assert "A photo by a soldier at the base showed the damaged hangars." in art.text


def test_a_first_paragraph_repeating_the_headline_is_not_part_of_the_text(tmp_path: Path):
    """A page's <h1> kept by the extractor restated questions as an answer sentence."""
    page = tmp_path / "address.html"
    page.write_text(
        "<html><head><title>Trump says Iran 'appears to be standing down' | Test Wire</title>"
        "</head><body><article><h1>Trump says Iran 'appears to be standing down'</h1>"
        "<p>WASHINGTON — President Donald Trump said on Wednesday that no Americans were harmed "
        "in Iran's overnight attack on two bases in Iraq.</p><p>He spoke for nine minutes and "
        "took no questions from reporters at the White House.</p></article></body></html>",
        encoding="utf-8")
    [art] = read_article_file(page)
    assert art.text.startswith("WASHINGTON — President Donald Trump said"), art.text
    md = tmp_path / "same.md"
    md.write_text("---\ntitle: Rockets hit Erbil airport\n---\n\n# Rockets hit Erbil airport\n\n"
                  "Rockets hit the airport on Monday.\n\nRockets hit Erbil airport again, "
                  "officials said.\n", encoding="utf-8")
    [art] = read_article_file(md)
    assert art.text.startswith("Rockets hit the airport on Monday."), art.text

"""AppTest for the CRM pages on a copy of the demo database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crm.db import make_engine, make_session_factory
from crm.models import AuditEvent, Company, Interaction, Offer, User
from tests.support.ui import app_as, open_page


def query(url, fn):
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        out = fn(s)
    engine.dispose()
    return out


def test_companies_fuzzy_search_filters_and_new_company_warns(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/companies.py")
    assert not at.exception
    at.text_input(key="company_search").input("reseau mistrall").run()
    assert list(at.dataframe[0].value["Entreprise"])[0] == "Réseau Mistral"
    at.text_input(key="company_search").input("").run()
    at.checkbox(key="company_free").check().run()
    assert all(n > 0 for n in at.dataframe[0].value["Places libres"])
    at.selectbox(key="company_sort").set_value("Places libres").run()
    at.checkbox(key="company_desc").check().run()
    free = list(at.dataframe[0].value["Places libres"])
    assert free == sorted(free, reverse=True)

    name = query(
        demo_copy, lambda s: s.scalar(select(Company.name).where(Company.ref == "DEMO-C0001"))
    )
    at.text_input(key="new_company__name").input(name.upper())
    at.text_input(key="new_company__siret").input("123")
    at.button(key="FormSubmitter:new_company-Créer l'entreprise").click().run()
    assert any("SIRET" in e.value for e in at.error)  # per-field error, under the field
    assert at.text_input(key="new_company__siret").value == "123"  # kept
    at.text_input(key="new_company__siret").input("")
    before = query(demo_copy, lambda s: s.scalar(select(func.count()).select_from(Company)))
    at.button(key="FormSubmitter:new_company-Créer l'entreprise").click().run()
    assert "ressemble à une fiche existante" in at.warning[0].value
    assert any(name in m.value for m in at.markdown)  # the existing record is listed
    assert (
        query(  # refused: nothing saved
            demo_copy, lambda s: s.scalar(select(func.count()).select_from(Company))
        )
        == before
    )
    at.checkbox(key="new_company__confirm_duplicate").check()
    at.button(key="FormSubmitter:new_company-Créer l'entreprise").click().run()
    assert "créée" in at.success[0].value
    assert (
        query(demo_copy, lambda s: s.scalar(select(func.count()).select_from(Company)))
        == before + 1
    )


def test_company_edit_with_field_errors_then_save(demo_copy, monkeypatch):
    cid = query(
        demo_copy, lambda s: s.scalar(select(Company.id).where(Company.ref == "DEMO-C0001"))
    )
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/company.py", company_id=cid)
    assert not at.exception
    at.text_input(key=f"edit_company_{cid}__postcode").input("830")
    at.button(key=f"FormSubmitter:edit_company_{cid}-Enregistrer les modifications").click().run()
    assert not at.exception
    assert any("5 chiffres" in e.value for e in at.error)
    at.text_input(key=f"edit_company_{cid}__postcode").input("83200")
    at.text_input(key=f"edit_company_{cid}__phone").input("+33 4 94 99 88 77")
    at.button(key=f"FormSubmitter:edit_company_{cid}-Enregistrer les modifications").click().run()
    assert "Fiche enregistrée." in [s.value for s in at.success]
    phone = query(demo_copy, lambda s: s.get(Company, cid).phone)
    assert phone == "04 94 99 88 77"
    # Contact, offer and contact log forms.
    at.text_input(key=f"add_contact_{cid}__last_name").input("Nouveau")
    at.button(key=f"FormSubmitter:add_contact_{cid}-Ajouter le contact").click().run()
    assert "Contact ajouté." in [s.value for s in at.success]
    at.text_input(key=f"add_offer_{cid}__rome_code").input("D1106")
    at.text_input(key=f"add_offer_{cid}__title").input("Vente")
    at.button(key=f"FormSubmitter:add_offer_{cid}-Ajouter l'offre").click().run()
    assert "Offre ajoutée." in [s.value for s in at.success]
    offer_id = query(demo_copy, lambda s: s.scalar(select(func.max(Offer.id))))
    at.selectbox(key=f"of_pick_{cid}").set_value(offer_id)
    at.button(key=f"of_pause_{cid}").click().run()
    assert query(demo_copy, lambda s: s.get(Offer, offer_id).status) == "paused"
    at.text_area(key=f"log_company_{cid}__summary").input("Appel de suivi")
    at.button(key=f"FormSubmitter:log_company_{cid}-Enregistrer le contact").click().run()
    assert not at.exception
    n = query(
        demo_copy,
        lambda s: s.scalar(
            select(func.count())
            .select_from(Interaction)
            .where(Interaction.summary == "Appel de suivi")
        ),
    )
    assert n == 1


def test_manager_sees_company_without_write_forms(demo_copy, monkeypatch):
    cid = query(
        demo_copy, lambda s: s.scalar(select(Company.id).where(Company.ref == "DEMO-C0001"))
    )
    at = open_page(app_as(demo_copy, monkeypatch, "manager"), "pages/company.py", company_id=cid)
    assert not at.exception and len(at.expander) == 0


def test_journal_logs_and_followups_mark_done(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "trainer"), "pages/journal.py")
    assert not at.exception and at.title[0].value == "Journal de contacts"
    assert len(at.dataframe[0].value) > 0
    label = at.selectbox(key="journal_company").options[0]
    cid = query(
        demo_copy,
        lambda s: s.scalar(select(Company.id).where(Company.name == label.split(" — ")[0])),
    )
    at.selectbox(key="journal_company").set_value(cid).run()
    at.text_area(key="log_journal__summary").input("Forum des métiers")
    at.text_input(key="log_journal__next_action").input("Envoyer la plaquette")
    at.date_input(key="log_journal__next_action_due").set_value(
        dt.date.today() + dt.timedelta(days=1)
    )
    at.button(key="FormSubmitter:log_journal-Enregistrer le contact").click().run()
    assert not at.exception, cid
    assert "Contact enregistré dans le journal." in [s.value for s in at.success]

    at = open_page(at, "pages/followups.py")
    assert not at.exception and at.title[0].value == "Mes relances"
    assert any("Envoyer la plaquette" in m.value for m in at.markdown)
    iid = query(
        demo_copy,
        lambda s: s.scalar(
            select(Interaction.id).where(Interaction.next_action == "Envoyer la plaquette")
        ),
    )
    at.button(key=f"resched_{iid}").click().run()
    due = query(demo_copy, lambda s: s.get(Interaction, iid).next_action_due)
    assert due > dt.date.today()
    at.button(key=f"done_{iid}").click().run()
    assert query(demo_copy, lambda s: s.get(Interaction, iid).next_action_done)
    assert not any("Envoyer la plaquette" in m.value for m in at.markdown)


def test_offers_page(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "manager"), "pages/offers.py")
    assert not at.exception and at.title[0].value == "Capacité d'accueil"
    df = at.dataframe[0].value
    assert {"Places", "Occupées", "Libres"} <= set(df.columns)
    at.checkbox(key="offers_free").check().run()
    assert all(n > 0 for n in at.dataframe[0].value["Libres"])


def test_duplicates_page_merges(demo_copy, monkeypatch):
    def add_dup(s):
        src = s.scalar(select(Company).where(Company.ref == "DEMO-C0002"))
        s.add(
            Company(
                name=src.name.upper() + " SARL",
                address=src.address,
                postcode=src.postcode,
                city=src.city,
                phone=src.phone,
                site_id=src.site_id,
                status="prospect",
            )
        )
        s.commit()
        return src.id

    keep_id = query(demo_copy, add_dup)
    at = open_page(app_as(demo_copy, monkeypatch, "admin"), "pages/duplicates.py")
    assert not at.exception and at.title[0].value == "Doublons"
    assert len(at.dataframe[0].value) >= 1
    labels = at.selectbox(key="dup_pick").options
    pick = next(i for i, label in enumerate(labels) if "SARL" in label)
    at.selectbox(key="dup_pick").set_value(pick).run()
    assert at.button(key="dup_merge").disabled
    at.checkbox(key="dup_sure").check().run()
    at.button(key="dup_merge").click().run()
    assert "Fiches fusionnées." in [s.value for s in at.success], [e.value for e in at.error]
    assert (
        query(
            demo_copy,
            lambda s: s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "merge")
            ),
        )
        == 1
    )
    assert (
        query(
            demo_copy,
            lambda s: s.scalar(
                select(func.count()).select_from(Company).where(Company.merged_into_id.is_not(None))
            ),
        )
        == 1
    )
    assert keep_id


def capture_downloads(monkeypatch) -> dict:
    """file name -> the callable a click on its (deferred) download button runs."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    built: dict = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        built[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return built


def test_import_export_page(demo_copy, monkeypatch):
    downloads = capture_downloads(monkeypatch)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/import_export.py")
    assert not at.exception and at.title[0].value == "Import / export"
    at.text_area(key="import_paste").input(
        "Raison sociale;Code postal;Ville\nNouvelle Entreprise Test;83000;Toulon\nSans CP;830;Toulon\n"
    ).run()
    assert len(at.dataframe[0].value) == 2  # preview
    at.button(key="import_check").click().run()
    assert "Rien n'a été importé" in at.info[0].value or "rien" in at.info[0].value
    assert "Code postal" in at.dataframe[1].value["Motif"][0]
    at.checkbox(key="import_skip").check()
    at.button(key="import_go").click().run()
    assert "1 créée(s)" in at.success[0].value
    assert (
        query(
            demo_copy,
            lambda s: s.scalar(
                select(func.count())
                .select_from(Company)
                .where(Company.name == "Nouvelle Entreprise Test")
            ),
        )
        == 1
    )
    # One-click export: the file is built (and audited) when the button is clicked.
    exports = lambda s: s.scalar(  # noqa: E731
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")
    )
    assert query(demo_copy, exports) == 0
    assert {"entreprises.csv", "entreprises.xlsx"} <= set(downloads)
    data = downloads["entreprises.csv"]()
    assert "Nouvelle Entreprise Test" in data.decode("utf-8-sig")
    assert query(demo_copy, exports) == 1


def test_manager_export_only(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "manager"), "pages/import_export.py")
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Exporter"]
    assert query(demo_copy, lambda s: s.scalar(select(User.id).where(User.username == "manager")))

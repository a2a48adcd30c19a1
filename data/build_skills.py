#!/usr/bin/env python3
"""Build data/skills.csv (label,category).

Passerelle's own practical skills list, written for the project (no external
source) and dedicated to the public domain under CC0 1.0. It is meant to be shared by
trainers (describing a learner) and companies (describing an offer), so labels
are short, concrete and in French.

Categories:
  savoir-être  behavioural skills (soft skills)
  transverse   certificates, licences and skills useful in many jobs
  métier       job-related know-how, grouped below by ROME family in comments

Rebuild:  python data/build_skills.py      (standard library only)
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SAVOIR_ETRE = """
Ponctualité
Assiduité
Respect des consignes
Travail en équipe
Autonomie
Sens de l'organisation
Rigueur
Adaptabilité
Curiosité
Motivation
Esprit d'initiative
Sens des responsabilités
Politesse et courtoisie
Présentation soignée
Gestion du stress
Patience
Écoute
Capacité à communiquer
Sens du service client
Persévérance
Dynamisme
Réactivité
Discrétion
Honnêteté
Respect de la hiérarchie
Respect des règles d'hygiène et de sécurité
Capacité à recevoir une critique
Confiance en soi
Gestion des conflits
Bienveillance
Créativité
Capacité d'apprentissage
Résistance physique
Minutie
"""

TRANSVERSE = """
Permis B
Permis B en cours
Code de la route
Permis AM (BSR)
Permis A1 / A2
Permis C
Permis CE
Permis D
FIMO marchandises
Véhicule personnel
Sauveteur Secouriste du Travail (SST)
PSC1 (Prévention et secours civiques)
CACES R489 cat. 1A (transpalette à conducteur porté, préparateur de commandes)
CACES R489 cat. 1B (gerbeur à conducteur porté)
CACES R489 cat. 3 (chariot élévateur frontal)
CACES R489 cat. 5 (chariot à mât rétractable)
CACES R485 (gerbeur à conducteur accompagnant)
CACES R486 (nacelle / PEMP)
CACES R482 (engins de chantier)
Habilitation électrique B0/H0
Habilitation électrique BS
Habilitation électrique BR
Habilitation électrique B1/B2
Travail en hauteur
Port des EPI
Gestes et postures (PRAP)
Hygiène alimentaire HACCP
Carte professionnelle agent de sécurité (CQP APS)
SSIAP 1
Permis d'exploitation (débit de boissons)
Attestation de formation aux gestes et soins d'urgence (AFGSU)
Français oral (niveau courant)
Français écrit (niveau courant)
Lecture et écriture (savoirs de base)
Calcul de base
Anglais de base
Anglais professionnel
Espagnol de base
Bureautique
Traitement de texte (Word, LibreOffice Writer)
Tableur (Excel, LibreOffice Calc)
Messagerie électronique
Usage d'internet et démarches en ligne
Prise de rendez-vous et gestion d'agenda
Rédaction d'un courrier simple
Classement et archivage
Accueil téléphonique
Tri sélectif des déchets
Lecture de plan
Utilisation d'un terminal de lecture code-barres (scanner)
Gestion d'une caisse et rendu de monnaie
Mobilité (transports en commun)
Disponibilité horaires décalés
Disponibilité le week-end
"""

METIER = """
# Commerce, vente, grande distribution (D)
Encaissement
Tenue de caisse
Mise en rayon
Réassort
Facing et étiquetage
Contrôle des dates de péremption (DLC/DDM)
Réception de marchandises
Inventaire
Accueil client
Conseil client et vente
Argumentation commerciale
Vente additionnelle
Gestion des réclamations clients
Tenue d'un rayon frais (coupe, traditionnel)
Vente en boulangerie
Préparation de commandes clients (drive, click and collect)
Vitrine et merchandising
Prospection téléphonique
# Hôtellerie, restauration (G)
Plonge
Entretien de la batterie de cuisine
Préparations froides (entrées, desserts)
Épluchage et taillage des légumes
Cuisson et remise en température
Respect des fiches techniques
Mise en place de la salle
Service en salle
Prise de commande
Service au bar
Débarrassage et dressage des tables
Restauration rapide (assemblage, comptoir)
Service en restauration collective
Entretien des chambres (hôtellerie)
Réception et check-in hôtelier
Animation d'activités pour enfants (BAFA)
# Bâtiment, travaux publics (F)
Maçonnerie de base
Montage et démontage d'échafaudage
Préparation des supports (peinture)
Peinture intérieure
Pose de plaques de plâtre
Pose de carrelage et faïence
Pose de revêtements de sol souples
Plomberie de base
Électricité du bâtiment (petits travaux)
Menuiserie (pose de portes et fenêtres)
Isolation thermique
Manœuvre de chantier
Utilisation d'outillage électroportatif
Nettoyage et repli de chantier
# Logistique, transport (N)
Préparation de commandes
Préparation de commandes à la voix (vocal)
Manutention manuelle
Conduite de chariot élévateur
Utilisation d'un transpalette électrique
Chargement et déchargement de camions
Filmage et palettisation
Gestion des stocks
Expédition et étiquetage de colis
Livraison de colis
Tournées de livraison
Magasinage
Utilisation d'un logiciel de gestion d'entrepôt (WMS)
# Propreté, services à la personne (K)
Nettoyage de locaux
Utilisation d'une autolaveuse ou d'une monobrosse
Dosage et utilisation des produits d'entretien
Bionettoyage (milieu hospitalier)
Lavage de vitres
Entretien du linge et repassage
Entretien du logement d'un particulier
Aide aux courses et aux repas
Aide à la toilette (personne dépendante)
Accompagnement de personnes âgées
Garde d'enfants
Aide aux devoirs
Gardiennage et surveillance
Rondes de sécurité
Contrôle d'accès
Médiation sociale
# Santé (J)
Hygiène hospitalière
Brancardage
Distribution des repas en établissement de santé
Aide au confort du patient
Transport de patients (ambulance, VSL)
# Agriculture, espaces verts (A)
Entretien des espaces verts
Tonte et débroussaillage
Taille de haies et d'arbustes
Plantation et arrosage
Utilisation d'un taille-haie ou d'une débroussailleuse
Travaux de maraîchage
Récolte et cueillette
Travaux de la vigne
Soins aux animaux d'élevage
Soins aux animaux de compagnie
# Installation, maintenance, mécanique (I)
Petite maintenance des bâtiments
Entretien courant d'un véhicule (vidange, pneus)
Mécanique automobile de base
Diagnostic électronique automobile
Réparation de cycles
Montage de meubles
Maintenance informatique de base
# Industrie (H)
Travail en production (respect des cadences)
Conduite de machine de production
Conditionnement et emballage
Contrôle qualité visuel
Soudure
Assemblage et montage
Usinage (tournage, fraisage)
Lecture de fiches techniques et de gammes
# Support à l'entreprise (M)
Accueil physique du public
Saisie de données
Secrétariat administratif
Mise sous pli et affranchissement
Standard téléphonique
"""

COLUMNS = ["label", "category"]


def _labels(block: str):
    for line in block.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def rows():
    seen: set[str] = set()
    for category, block in (("savoir-être", SAVOIR_ETRE), ("transverse", TRANSVERSE), ("métier", METIER)):
        for label in _labels(block):
            key = label.casefold()
            assert key not in seen, label
            seen.add(key)
            yield {"label": label, "category": category}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "skills.csv")
    args = ap.parse_args(argv)
    data = list(rows())
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(data)
    print(f"wrote {len(data)} skills to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
